use super::*;
use settle_core::{Provenance, parse_date};

fn cur(c: &str) -> Currency {
    Currency::from_code(c).unwrap()
}

fn order(id: &str, kind: OrderKind, amount: &str, currency: &str, line: u64) -> Order {
    Order {
        order_id: id.into(),
        kind,
        beneficiary_id: "B1".into(),
        channel: "stripe".into(),
        order_date: parse_date("2026-10-30").unwrap(),
        amount: amount.parse().unwrap(),
        currency: cur(currency),
        provenance: Provenance::line("orders.csv", line),
    }
}

#[allow(clippy::too_many_arguments)]
fn tx(
    id: &str,
    kind: ChannelKind,
    order: Option<&str>,
    presentment: &str,
    ccy: &str,
    net: &str,
    batch: Option<&str>,
    line: u64,
) -> ChannelTransaction {
    ChannelTransaction {
        merchant_reference: order.map(Into::into),
        presentment_amount: Some(presentment.parse().unwrap()),
        presentment_currency: Some(cur(ccy)),
        batch_id: batch.map(Into::into),
        ..ChannelTransaction::new(
            "stripe",
            id,
            kind,
            net.parse().unwrap(),
            Decimal::ZERO,
            cur("EUR"),
            parse_date("2026-10-30").unwrap(),
            Provenance::line("channel.csv", line),
        )
    }
}

fn credit(id: &str, amount: &str, reference: &str, line: u64) -> BankEntry {
    BankEntry {
        account_id: "DE89370400440532013000".into(),
        entry_id: id.into(),
        booking_date: parse_date("2026-10-30").unwrap(),
        value_date: parse_date("2026-10-30").unwrap(),
        direction: Direction::Credit,
        amount: amount.parse().unwrap(),
        currency: cur("EUR"),
        reference: Some(reference.into()),
        counterparty_name: None,
        remittance_info: None,
        status: settle_core::EntryStatus::Booked,
        reversal: false,
        bank_transaction_code: None,
        details: Vec::new(),
        provenance: Provenance::line("bank.csv", line),
    }
}

fn reasons(result: &ReconResult) -> Vec<(&'static str, &'static str)> {
    result.exceptions.iter().map(|e| (e.stage.as_str(), e.reason.as_str())).collect()
}

#[test]
fn every_case_lands_in_one_place() {
    let orders = vec![
        order("O1", OrderKind::Sale, "10.00", "EUR", 2),
        order("O2", OrderKind::Sale, "20.00", "EUR", 3),
        order("O3", OrderKind::Sale, "30.00", "EUR", 4), // no channel row
        order("O4", OrderKind::Refund, "-5.00", "EUR", 5),
        order("O1", OrderKind::Sale, "10.00", "EUR", 6), // duplicate
    ];
    let channel = vec![
        tx("t1", ChannelKind::Charge, Some("O1"), "10.00", "EUR", "9.70", Some("po1"), 2),
        tx("t2", ChannelKind::Charge, Some("O2"), "21.00", "EUR", "20.40", Some("po1"), 3), // mismatch
        tx("t3", ChannelKind::Charge, Some("O9"), "7.00", "EUR", "6.80", Some("po1"), 4),   // no order
        tx("t4", ChannelKind::Refund, Some("O4"), "-5.00", "EUR", "-5.00", Some("po1"), 5),
        tx("t5", ChannelKind::Chargeback, Some("O1"), "-10.00", "EUR", "-25.00", Some("po2"), 6),
        tx("t1", ChannelKind::Charge, Some("O1"), "10.00", "EUR", "9.70", Some("po1"), 7), // duplicate
        tx("t6", ChannelKind::Fee, None, "0.00", "EUR", "-1.00", None, 8),                 // not in a batch yet
        tx("t7", ChannelKind::Charge, Some("O1"), "10.00", "EUR", "9.70", Some("po3"), 9), // second charge
    ];
    let bank = vec![
        credit("b1", "31.90", "po1", 2), // 9.70 + 20.40 + 6.80 - 5.00
        credit("b2", "5.00", "unknown", 3),
        credit("b3", "9.00", "po3", 4), // short: 9.70 expected
    ];
    let result = reconcile(&orders, &channel, &bank).unwrap();
    let inputs = Inputs { orders: &orders, channel: &channel, bank: &bank, payouts: &[] };
    let views = result.views(&inputs);
    assert_eq!(views.len(), 3, "{views:#?}");
    assert_eq!(views[0].rule, "A1 order_id_exact");
    assert_eq!(views[0].match_id, "MA000001");
    assert_eq!(views[0].left.id, "O1");
    assert_eq!(views[0].right.id, "stripe:t1");
    assert_eq!(views[0].right.source, "channel.csv:2");
    assert_eq!(views[2].rule, "B1 batch_reference_exact");
    assert_eq!(views[2].match_id, "MB000003");
    assert_eq!(views[2].left.id, "stripe:po1");
    assert_eq!(views[2].left.records, 4);
    assert_eq!(views[2].right.id, "DE89370400440532013000:b1");
    assert_eq!(
        reasons(&result),
        vec![
            ("A", "duplicate_order"),
            ("A", "duplicate_channel_transaction"),
            ("A", "no_channel_transaction"),
            ("A", "no_order"),
            ("A", "amount_mismatch"),
            ("A", "order_already_matched"),
            ("A", "chargeback"),
            ("B", "amount_mismatch"),
            ("B", "not_in_payout_batch"),
            ("B", "no_bank_credit"),
            ("B", "no_payout_batch"),
        ]
    );
    let short =
        result.exceptions.iter().find(|e| e.stage == Stage::B && e.reason == ReasonCode::AmountMismatch).unwrap();
    assert_eq!(short.difference().unwrap().to_string(), "-0.70");
    assert_eq!(result.exceptions[0].exception_id, "EA000001");
    assert_eq!(result.channel[4].order, Some(0), "chargeback linked to O1");
    assert_eq!(result.channel[4].stage_b, Place::Unmatched(ReasonCode::NoBankCredit));
    assert_eq!(result.channel[0].stage_b, Place::Matched);
    let a_orders = result.tallies[&(Stage::A, RecordKind::Order, cur("EUR"))];
    assert_eq!(a_orders.input.count, 5);
    assert_eq!(a_orders.matched.count, 2);
    assert_eq!(a_orders.rejected.count, 1);
    assert_eq!(a_orders.input.amount.to_string(), "65.00");
}

#[test]
fn output_is_independent_of_input_order() {
    let orders = vec![order("O1", OrderKind::Sale, "10.00", "EUR", 2), order("O2", OrderKind::Sale, "20.00", "EUR", 3)];
    let channel = vec![
        tx("t1", ChannelKind::Charge, Some("O1"), "10.00", "EUR", "10.00", Some("po1"), 2),
        tx("t2", ChannelKind::Charge, Some("O2"), "20.00", "EUR", "20.00", Some("po2"), 3),
    ];
    let bank = vec![credit("b1", "10.00", "po1", 2), credit("b2", "20.00", "po2", 3)];
    let forward = reconcile(&orders, &channel, &bank).unwrap();
    let mut ro = orders.clone();
    ro.reverse();
    let mut rc = channel.clone();
    rc.reverse();
    let mut rb = bank.clone();
    rb.reverse();
    let backward = reconcile(&ro, &rc, &rb).unwrap();
    let ids = |r: &ReconResult, inputs: &Inputs<'_>| {
        r.views(inputs).into_iter().map(|m| (m.match_id, m.left.id, m.right.id)).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&forward, &Inputs { orders: &orders, channel: &channel, bank: &bank, payouts: &[] }),
        ids(&backward, &Inputs { orders: &ro, channel: &rc, bank: &rb, payouts: &[] })
    );
    assert!(forward.exceptions.is_empty());
}

#[test]
fn outputs_doc_lists_every_reason_code_with_its_status_and_severity() {
    let doc = include_str!("../../../docs/outputs.md");
    for reason in ReasonCode::ALL {
        let row = format!(
            "| `{}` | {} | {} | `{}` |",
            reason.as_str(),
            reason.class().as_str(),
            reason.severity().as_str(),
            reason.category()
        );
        assert!(doc.contains(&row), "docs/outputs.md lacks the row {row:?}");
    }
}

#[test]
fn ages_count_business_days_to_the_business_date() {
    let calendar = settle_core::Calendar::target2();
    let day = |d: &str| settle_core::parse_date(d).unwrap();
    // Friday → Monday: one business day; over Easter 2026 (Good Friday 3 April, Easter Monday 6 April).
    assert_eq!(crate::business_days_between(&calendar, day("2026-10-30"), day("2026-11-02")), 1);
    assert_eq!(crate::business_days_between(&calendar, day("2026-04-02"), day("2026-04-07")), 1);
    assert_eq!(crate::business_days_between(&calendar, day("2026-11-02"), day("2026-10-30")), 0);
    let result = reconcile(&[order("O1", OrderKind::Sale, "10.00", "EUR", 2)], &[], &[]).unwrap();
    // The order is dated Friday 2026-10-30: one business day old on Monday 2 November, three on Wednesday.
    assert_eq!(result.exceptions[0].age_business_days(day("2026-11-02"), &calendar), 1);
    assert_eq!(result.exceptions[0].age_business_days(day("2026-11-04"), &calendar), 3);
}

#[test]
fn a_match_holds_no_strings() {
    // Ten million matches a night: each is 24 bytes, its sides resolved from the inputs when written.
    assert!(std::mem::size_of::<Match>() <= 24, "{}", std::mem::size_of::<Match>());
    assert_eq!(std::mem::size_of::<SideRef>(), 8);
}

#[test]
fn ids_compare_as_written() {
    use std::cmp::Ordering;
    let cases = [
        (("pay", Some("x")), ("pay-x", Some("a"))),
        (("pay", Some("x")), ("paypal", Some("a"))),
        (("pay", None), ("pay", Some("a"))),
        (("stripe", Some("b")), ("stripe", Some("a"))),
        (("O1", None), ("O10", None)),
        (("a", Some("z")), ("a:z", None)),
        (("a:", Some("")), ("a", Some(":"))),
    ];
    for ((h1, t1), (h2, t2)) in cases {
        let (a, b) = (IdKey { head: h1, tail: t1 }, IdKey { head: h2, tail: t2 });
        let written = |h: &str, t: Option<&str>| match t {
            Some(t) => format!("{h}:{t}"),
            None => h.to_string(),
        };
        let expected = written(h1, t1).cmp(&written(h2, t2));
        assert_eq!(a.cmp_written(&b), expected, "{h1:?} {t1:?} vs {h2:?} {t2:?}");
        assert_eq!(b.cmp_written(&a), expected.reverse());
        assert_eq!(a.cmp_written(&a), Ordering::Equal);
    }
}

#[test]
fn a_stage_a_match_explains_fees_and_fx_against_the_reference_rate() {
    let date = parse_date("2026-10-30").unwrap();
    let orders =
        vec![order("O1", OrderKind::Sale, "100.00", "EUR", 2), order("O2", OrderKind::Sale, "40.00", "EUR", 3)];
    // O1 settled in USD at the channel's rate 1.07 (reference 1.08): gross 107.00, fee 3.00, net 104.00.
    let usd = ChannelTransaction {
        merchant_reference: Some("O1".into()),
        presentment_amount: Some("100.00".parse().unwrap()),
        presentment_currency: Some(cur("EUR")),
        ..ChannelTransaction::new(
            "stripe",
            "t1",
            ChannelKind::Charge,
            "107.00".parse().unwrap(),
            "3.00".parse().unwrap(),
            cur("USD"),
            date,
            Provenance::line("channel.csv", 2),
        )
    };
    // O2 in two partial captures of 25 and 15 EUR, settled in EUR: no FX, fees 0.50 and 0.30.
    let part = |id: &str, amount: &str, fee: &str, line: u64| ChannelTransaction {
        merchant_reference: Some("O2".into()),
        presentment_amount: Some(amount.parse().unwrap()),
        presentment_currency: Some(cur("EUR")),
        ..ChannelTransaction::new(
            "stripe",
            id,
            ChannelKind::Charge,
            amount.parse().unwrap(),
            fee.parse().unwrap(),
            cur("EUR"),
            date,
            Provenance::line("channel.csv", line),
        )
    };
    let channel = vec![usd, part("t2", "25.00", "0.50", 3), part("t3", "15.00", "0.30", 4)];
    let result = reconcile(&orders, &channel, &[]).unwrap();
    let inputs = Inputs { orders: &orders, channel: &channel, bank: &[], payouts: &[] };
    let rates = settle_fx::RateTable::new(vec![settle_core::Rate {
        date,
        base: cur("EUR"),
        quote: cur("USD"),
        rate: "1.08".parse().unwrap(),
        source: "ECB".into(),
        provenance: Provenance::line("rates.csv", 2),
    }])
    .unwrap();
    let policy = settle_fx::ConversionPolicy { max_rate_age_days: 0, rounding: settle_core::RoundingMode::HalfEven };
    let explained: Vec<(String, FeeFx)> = (0..result.matches.len())
        .filter_map(|n| {
            let fee_fx = result.fee_fx(&result.matches[n], &inputs, &rates, policy)?;
            Some((result.view(n, &inputs).rule.to_string(), fee_fx))
        })
        .collect();
    assert_eq!(explained.len(), 2, "{explained:?}");
    let (rule, o1) = &explained[0];
    assert_eq!(rule, "A1 order_id_exact");
    let reference = o1.reference.unwrap();
    assert_eq!(reference.to, Money::new("108.00".parse().unwrap(), cur("USD")));
    assert_eq!(o1.fx_difference, Some("-1.00".parse().unwrap()));
    assert_eq!(o1.channel_fees, Money::new("-3.00".parse().unwrap(), cur("USD")));
    assert_eq!(o1.net.amount(), reference.to.amount() + o1.fx_difference.unwrap() + o1.channel_fees.amount());
    let (rule, o2) = &explained[1];
    assert_eq!(rule, "A2 order_id_partial_captures");
    assert_eq!(o2.fx_difference, Some(Decimal::ZERO), "same currency: identity rate");
    assert_eq!(o2.channel_fees.amount(), "-0.80".parse().unwrap());
    assert_eq!(o2.net.amount(), "39.20".parse().unwrap());
    // Without a rate for the pair the FX parts are unknown; fees and net still add up.
    let empty = settle_fx::RateTable::new(Vec::new()).unwrap();
    let o1 = result.fee_fx(&result.matches[0], &inputs, &empty, policy).unwrap();
    assert_eq!((o1.reference, o1.fx_difference), (None, None));
    assert_eq!(o1.net.amount(), "104.00".parse().unwrap());
}

/// A night with every case a shard boundary can cut through: duplicate order ids (across beneficiaries),
/// duplicate transaction ids (same and different merchant references), orphans, chargebacks, payout
/// rows, mixed-currency batches, batches whose credit is off, split over partitions.
fn shard_night(seed: u64) -> (Vec<Order>, Vec<ChannelTransaction>, Vec<BankEntry>) {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut orders = Vec::new();
    for line in 0..(6 + next(14)) {
        let id = format!("O{}", next(12));
        let kind = if next(6) == 0 { OrderKind::Refund } else { OrderKind::Sale };
        let cents = 100 + next(900);
        let amount = if kind == OrderKind::Refund { -(cents as i64) } else { cents as i64 };
        orders.push(Order {
            beneficiary_id: format!("B{}", next(5)).into(),
            ..order(&id, kind, &Decimal::new(amount, 2).to_string(), "EUR", line + 2)
        });
    }
    let mut channel = Vec::new();
    for line in 0..(8 + next(20)) {
        let kind = match next(10) {
            0 => ChannelKind::Chargeback,
            1 => ChannelKind::Fee,
            2 => ChannelKind::Refund,
            _ => ChannelKind::Charge,
        };
        let reference = match next(8) {
            0 => None,
            1 => Some("O-unknown".to_string()),
            _ => Some(format!("O{}", next(12))),
        };
        // The amount of the order it names, mostly.
        let named = reference.as_ref().and_then(|r| orders.iter().find(|o| o.order_id == r.as_str()));
        let presentment = match named {
            Some(o) if next(4) != 0 => o.amount,
            _ => Decimal::new(100 + next(900) as i64, 2),
        };
        let id = format!("t{}", next(24));
        let batch = match next(6) {
            0 => None,
            _ => Some(format!("P{}", next(4))),
        };
        let mut row = tx(
            &id,
            kind,
            reference.as_deref(),
            &presentment.to_string(),
            "EUR",
            &(presentment - Decimal::new(next(50) as i64, 2)).to_string(),
            batch.as_deref(),
            line + 2,
        );
        if next(15) == 0 {
            row.settlement_currency = cur("USD");
        }
        channel.push(row);
    }
    // A payout row closing batch P0.
    let mut payout = tx("payout-P0", ChannelKind::Payout, None, "0", "EUR", "-1.00", Some("P0"), 90);
    payout.presentment_amount = None;
    channel.push(payout);
    let mut bank = Vec::new();
    for (n, batch) in ["P0", "P1", "P2", "P3"].into_iter().enumerate() {
        let net: Decimal =
            channel.iter().filter(|t| t.batch_id.as_deref() == Some(batch) && !t.kind.is_payout()).map(|t| t.net).sum();
        let amount = if next(4) == 0 { net + Decimal::ONE } else { net };
        if amount > Decimal::ZERO && next(5) != 0 {
            bank.push(credit(&format!("E{n}"), &amount.to_string(), batch, n as u64 + 2));
        }
    }
    (orders, channel, bank)
}

/// Splits a night into `parts` shards as a partitioned run does: an order id goes with the beneficiary
/// of its first order, a channel row with the order id it names, other rows by their id.
fn shard_of_night(orders: &[Order], channel: &[ChannelTransaction], parts: u64) -> (Vec<u64>, Vec<u64>) {
    let h = |s: &str| s.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) % parts;
    let mut first: BTreeMap<&str, u64> = BTreeMap::new();
    for o in orders {
        first.entry(&o.order_id).or_insert_with(|| h(&o.beneficiary_id));
    }
    let order_shards = orders.iter().map(|o| first[o.order_id.as_str()]).collect();
    let channel_shards = channel
        .iter()
        .map(|t| match t.merchant_reference.as_deref().and_then(|r| first.get(r)) {
            Some(&shard) => shard,
            None => h(&t.transaction_id),
        })
        .collect();
    (order_shards, channel_shards)
}

#[test]
fn shards_decide_what_the_whole_night_decides() {
    type Key = (Stage, ReasonCode, Option<Side>, Option<Side>, Option<String>, String);
    let key = |e: &Exception| -> Key {
        (e.stage, e.reason, e.left.clone(), e.right.clone(), e.related_id.clone(), e.detail.clone())
    };
    let calendar = Calendar::target2();
    let rules = ReconRules::default();
    for seed in 0..300u64 {
        let (orders, channel, bank) = shard_night(seed);
        let whole = reconcile(&orders, &channel, &bank).unwrap();
        let whole_inputs = Inputs { orders: &orders, channel: &channel, bank: &bank, payouts: &[] };
        let mut want_exceptions: Vec<Key> = whole.exceptions.iter().map(key).collect();
        let mut want_matches: Vec<(Stage, Text, Side, Side)> = (0..whole.matches.len())
            .map(|m| whole.view(m, &whole_inputs))
            .map(|v| (v.stage, v.rule, v.left, v.right))
            .collect();
        want_exceptions.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        want_matches.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        for parts in 1..=4u64 {
            let (order_shards, channel_shards) = shard_of_night(&orders, &channel, parts);
            let (mut got_exceptions, mut got_matches) = (Vec::new(), Vec::new());
            let mut tallies: Tallies = BTreeMap::new();
            for part in 0..parts {
                let own_orders: Vec<usize> = (0..orders.len()).filter(|&o| order_shards[o] == part).collect();
                let own_rows: Vec<usize> = (0..channel.len()).filter(|&i| channel_shards[i] == part).collect();
                let shard_orders: Vec<Order> = own_orders.iter().map(|&o| orders[o].clone()).collect();
                let shard_rows: Vec<ChannelTransaction> = own_rows.iter().map(|&i| channel[i].clone()).collect();
                let foreign: Vec<ForeignRow> = (0..channel.len())
                    .filter(|&i| channel_shards[i] != part)
                    .map(|i| ForeignRow::of(&channel[i], false, false))
                    .collect();
                let result =
                    reconcile_shard(&shard_orders, &shard_rows, &foreign, &bank, &Prior::default(), &rules, &calendar)
                        .unwrap();
                let context = format!("seed {seed}, {parts} parts, part {part}");
                for (local, &o) in own_orders.iter().enumerate() {
                    assert_eq!(result.orders[local], whole.orders[o], "{context}: order {o}");
                }
                for (local, &i) in own_rows.iter().enumerate() {
                    let (mut got, want) = (result.channel[local], whole.channel[i]);
                    got.order = got.order.map(|o| r32(own_orders[o as usize]));
                    assert_eq!(got, want, "{context}: channel row {i}");
                }
                assert_eq!(result.bank, whole.bank, "{context}: bank places");
                let inputs = Inputs { orders: &shard_orders, channel: &shard_rows, bank: &bank, payouts: &[] };
                let global = part == 0;
                got_exceptions.extend(result.exceptions.iter().filter(|e| global || e.is_shard_local()).map(key));
                got_matches.extend(
                    (0..result.matches.len())
                        .filter(|&m| global || result.matches[m].is_shard_local())
                        .map(|m| result.view(m, &inputs))
                        .map(|v| (v.stage, v.rule, v.left, v.right)),
                );
                for ((stage, kind, currency), t) in &result.tallies {
                    let shared = matches!(kind, RecordKind::BankEntry | RecordKind::Payout);
                    if global || !shared {
                        let sum = tallies.entry((*stage, *kind, *currency)).or_default();
                        for (s, p) in [
                            (&mut sum.input, t.input),
                            (&mut sum.matched, t.matched),
                            (&mut sum.open, t.open),
                            (&mut sum.exception, t.exception),
                            (&mut sum.rejected, t.rejected),
                        ] {
                            s.count += p.count;
                            s.amount += p.amount;
                        }
                    }
                }
            }
            got_exceptions.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            got_matches.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            assert_eq!(got_exceptions, want_exceptions, "seed {seed}, {parts} parts: exceptions");
            assert_eq!(got_matches, want_matches, "seed {seed}, {parts} parts: matches");
            assert_eq!(tallies, whole.tallies, "seed {seed}, {parts} parts: tallies");
        }
    }
}

/// Records the settlement ledger holds are not admitted: a known order, channel row and bank credit are
/// rejected (`already_settled`, or `settled_record_changed` when their content differs), nothing of them
/// is matched, and the night's other records match as they would without them.
#[test]
fn records_the_ledger_holds_are_rejected_at_intake_and_never_matched() {
    let orders = vec![order("O1", OrderKind::Sale, "10.00", "EUR", 2), order("O2", OrderKind::Sale, "20.00", "EUR", 3)];
    let channel = vec![
        tx("ch_1", ChannelKind::Charge, Some("O1"), "10.00", "EUR", "9.50", Some("po_1"), 2),
        tx("ch_2", ChannelKind::Charge, Some("O2"), "20.00", "EUR", "19.00", Some("po_2"), 3),
    ];
    let bank = vec![credit("E1", "9.50", "po_1", 2), credit("E2", "19.00", "po_2", 3)];
    let note = |changed: bool| KnownNote {
        reason: if changed { KnownReason::Changed } else { KnownReason::Settled },
        detail: 0,
    };
    let prior = Prior {
        known: Known {
            orders: vec![(1, note(false))],
            channel: vec![(1, note(true))],
            bank: vec![(1, note(false))],
            details: vec!["already settled by this job on 2026-10-29".into()],
        },
        ..Prior::default()
    };
    let rules = ReconRules::default();
    let result = reconcile_nights(&orders, &channel, &bank, &prior, &rules, &Calendar::target2()).unwrap();
    assert_eq!(result.orders, [Place::Matched, Place::Unmatched(ReasonCode::AlreadySettled)]);
    assert_eq!(result.channel[0].stage_b, Place::Matched);
    assert_eq!(result.channel[1].stage_a, Place::Unmatched(ReasonCode::SettledRecordChanged));
    assert_eq!(result.channel[1].stage_b, Place::Unmatched(ReasonCode::SettledRecordChanged));
    assert_eq!(result.bank, [Place::Matched, Place::Unmatched(ReasonCode::AlreadySettled)]);
    let mut found = reasons(&result);
    found.sort();
    assert_eq!(found, [("A", "already_settled"), ("A", "settled_record_changed"), ("B", "already_settled")]);
    assert!(result.exceptions.iter().all(|e| e.detail == "already settled by this job on 2026-10-29"));
    // Counted as rejected, never matched: conservation holds with them in.
    let rejected: u64 = result.tallies.values().map(|t| t.rejected.count).sum();
    assert_eq!(rejected, 4, "the order (A), the channel row (A and B), the bank entry (B)");
}
