//! Partitioned runs: `settle run JOB --partition I/N` settles one shard of the night's beneficiaries into
//! a partition directory, and `settle merge JOB` (`crate::merge`) makes the run directory from the N
//! partition directories — the same bytes as one `settle run` of the whole night.
//!
//! The shard of a beneficiary id is the first 8 bytes of its SHA-256, read big-endian, mod N (so a
//! scheduler or a SQL query can compute it too). An order goes with the beneficiary of the first order
//! of its id (in the engine's file order), a channel row with the order id its merchant reference names,
//! a row naming no order by `channel:transaction_id`. What is not local to a shard — stage B (a payout
//! batch holds many beneficiaries' rows) and stage C (our payouts ↔ bank debits) — every partition
//! decides alike from every bank entry and the other partitions' rows in brief (`settle_recon::ForeignRow`);
//! partition 0 writes those results, the others only their own records'.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use settle_core::{ChannelTransaction, Order, Text};
use sha2::{Digest, Sha256};

/// The directory, under the job's output directory, that holds the partitions of each business date.
pub const DIR: &str = ".partitions";
/// What a partition writes last (its completion mark), and merge reads first.
pub const PARTIAL: &str = "partial.json";
/// `partial.json`'s format and version.
pub const FORMAT: &str = "settle-partition";
pub const VERSION: u32 = 1;
/// At most this many partitions.
pub const COUNT_MAX: u32 = 4096;

/// Partition `index` of `count` (`I/N` on the command line, 0 ≤ I < N).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    pub index: u32,
    pub count: u32,
}

impl Partition {
    /// Reads `I/N`.
    pub fn parse(text: &str) -> Result<Partition, String> {
        let (index, count) =
            text.split_once('/').ok_or_else(|| format!("{text:?} is not I/N (e.g. 0/4: partition 0 of 4)"))?;
        let number = |s: &str, what: &str| {
            s.trim().parse::<u32>().map_err(|_| format!("{what} {s:?} in {text:?} is not a whole number"))
        };
        let (index, count) = (number(index, "index")?, number(count, "count")?);
        if count == 0 || count > COUNT_MAX {
            return Err(format!("{text:?}: the count must be 1 to {COUNT_MAX}"));
        }
        if index >= count {
            return Err(format!("{text:?}: partitions of {count} are numbered 0 to {}", count - 1));
        }
        Ok(Partition { index, count })
    }

    /// `I-of-N`: the partition's directory name.
    pub fn dir_name(self) -> String {
        format!("{}-of-{}", self.index, self.count)
    }

    /// Whether this partition writes what every partition decides alike (stage B and C results, bank
    /// entries, awaited payouts): partition 0.
    pub fn writes_shared(self) -> bool {
        self.index == 0
    }
}

/// The shard (0..count) of `key`: the first 8 bytes of SHA-256(key), big-endian, mod `count`.
pub fn shard_of(key: &str, count: u32) -> u32 {
    let digest = Sha256::digest(key.as_bytes());
    let head = u64::from_be_bytes(digest[..8].try_into().expect("SHA-256 has 32 bytes"));
    u32::try_from(head % u64::from(count)).expect("less than count")
}

/// `OUT/<job>/.partitions/<date>/`: the partitions of one business date.
pub fn date_dir(job_dir: &Path, business_date: settle_core::Date) -> PathBuf {
    job_dir.join(DIR).join(business_date.to_string())
}

/// Decides which records a partition owns. An order id's shard is its first order's beneficiary's,
/// first as the engine's intake counts it (carried before tonight's, then by file and line), so
/// duplicate order ids stay together; a channel row goes with the order id it names, else by
/// `channel:transaction_id`. It owns what it needs (an id and its shard: ≈ 40 bytes an order id), so
/// the orders of other shards can be dropped once it is made.
pub struct Sharder {
    partition: Partition,
    shard_of_id: HashMap<Text, u32>,
}

impl Sharder {
    /// From every order of the night: the carried ones first (`carried` of them), then tonight's in
    /// input order.
    pub fn new<'a>(orders: impl Iterator<Item = &'a Order>, carried: usize, partition: Partition) -> Sharder {
        let orders: Vec<&Order> = orders.collect();
        // (tonight's, file, line, XML path, index): the engine's intake order.
        let key = |i: usize| {
            let p = &orders[i].provenance;
            (i >= carried, &*p.source_file, p.line_number(), p.xml_path.as_deref(), i)
        };
        // Order id → its first order's index.
        let mut first: HashMap<&str, u32> = HashMap::with_capacity(orders.len());
        for (i, order) in orders.iter().enumerate() {
            let index = u32::try_from(i).expect("the engine takes at most u32::MAX orders");
            match first.get_mut(order.order_id.as_str()) {
                Some(best) if key(*best as usize) <= key(i) => {}
                Some(best) => *best = index,
                None => {
                    first.insert(&order.order_id, index);
                }
            }
        }
        let mut beneficiary_shard: HashMap<&str, u32> = HashMap::new();
        let mut shard_of_id: HashMap<Text, u32> = HashMap::with_capacity(first.len());
        for (id, index) in first {
            let beneficiary = orders[index as usize].beneficiary_id.as_str();
            let shard = *beneficiary_shard.entry(beneficiary).or_insert_with(|| shard_of(beneficiary, partition.count));
            shard_of_id.insert(Text::from(id), shard);
        }
        Sharder { partition, shard_of_id }
    }

    fn owns(&self, shard: u32) -> bool {
        shard == self.partition.index
    }

    /// Whether the partition owns `order` (one of the orders it was made from).
    pub fn owns_order(&self, order: &Order) -> bool {
        self.shard_of_id.get(order.order_id.as_str()).is_some_and(|&shard| self.owns(shard))
    }

    /// Whether the partition owns channel row `tx`.
    pub fn owns_row(&self, tx: &ChannelTransaction) -> bool {
        match tx.merchant_reference.as_deref().and_then(|r| self.shard_of_id.get(r)) {
            Some(&shard) => self.owns(shard),
            None => self.owns(shard_of(&format!("{}:{}", tx.channel, tx.transaction_id), self.partition.count)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_read_as_index_of_count() {
        assert_eq!(Partition::parse("0/4"), Ok(Partition { index: 0, count: 4 }));
        assert_eq!(Partition::parse("3/4").map(Partition::dir_name), Ok("3-of-4".to_string()));
        for bad in ["4/4", "1/0", "x/2", "2", "-1/3", "0/5000"] {
            assert!(Partition::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_shard_is_the_sha256_head_mod_n() {
        // SHA-256("B00001") = 1370d4006c28e0a0…, as `sha256sum` gives it: the rule a scheduler or a SQL
        // query computes too.
        let head = 0x1370_d400_6c28_e0a0_u64;
        for (n, shard) in [(2u32, 0u32), (4, 0), (7, 1), (64, 32)] {
            assert_eq!(shard_of("B00001", n), shard);
            assert_eq!(u64::from(shard), head % u64::from(n));
        }
        assert_eq!(shard_of("anything", 1), 0);
    }

    fn order(id: &str, beneficiary: &str, file: &str, line: u64) -> Order {
        Order {
            order_id: id.into(),
            kind: settle_core::OrderKind::Sale,
            beneficiary_id: beneficiary.into(),
            channel: "stripe".into(),
            order_date: settle_core::parse_date("2026-10-30").unwrap(),
            amount: settle_core::Decimal::ONE,
            currency: settle_core::Currency::from_code("EUR").unwrap(),
            provenance: settle_core::Provenance::line(file, line),
        }
    }

    fn row(id: &str, reference: Option<&str>) -> ChannelTransaction {
        ChannelTransaction {
            merchant_reference: reference.map(Into::into),
            ..ChannelTransaction::new(
                "stripe",
                id,
                settle_core::ChannelKind::Charge,
                settle_core::Decimal::ONE,
                settle_core::Decimal::ZERO,
                settle_core::Currency::from_code("EUR").unwrap(),
                settle_core::parse_date("2026-10-30").unwrap(),
                settle_core::Provenance::line("s.csv", 2),
            )
        }
    }

    #[test]
    fn an_order_id_goes_with_its_first_order_and_a_row_with_the_order_it_names() {
        let orders = [
            // Carried: first of O1, whatever tonight's files say.
            order("O1", "seller-carried", "2026-10-30/open_orders.csv", 2),
            order("O1", "seller-b", "a.csv", 2),
            // O2: a.csv comes before b.csv in file order, whatever the input order.
            order("O2", "seller-c", "b.csv", 5),
            order("O2", "seller-d", "a.csv", 9),
            order("O3", "seller-e", "b.csv", 6),
        ];
        let rows = [row("t1", Some("O2")), row("t2", Some("O-none")), row("t3", None), row("t4", Some("O1"))];
        for count in 1..=7u32 {
            let mut owners = vec![0u32; orders.len() + rows.len()];
            for index in 0..count {
                let sharder = Sharder::new(orders.iter(), 1, Partition { index, count });
                let owns = |beneficiary: &str| shard_of(beneficiary, count) == index;
                for (o, order) in orders.iter().enumerate() {
                    let first = match order.order_id.as_str() {
                        "O1" => "seller-carried",
                        "O2" => "seller-d",
                        _ => "seller-e",
                    };
                    assert_eq!(sharder.owns_order(order), owns(first), "{count} parts, part {index}, order {o}");
                    owners[o] += u32::from(sharder.owns_order(order));
                }
                assert_eq!(sharder.owns_row(&rows[0]), owns("seller-d"));
                assert_eq!(sharder.owns_row(&rows[1]), owns("stripe:t2"), "an unknown order id: by the row's id");
                assert_eq!(sharder.owns_row(&rows[2]), owns("stripe:t3"));
                assert_eq!(sharder.owns_row(&rows[3]), owns("seller-carried"));
                for (r, tx) in rows.iter().enumerate() {
                    owners[orders.len() + r] += u32::from(sharder.owns_row(tx));
                }
            }
            assert!(owners.iter().all(|&n| n == 1), "{count} parts: every record in exactly one: {owners:?}");
        }
    }
}
