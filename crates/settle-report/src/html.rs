//! `report.html`: the night at a glance for a treasury team. One self-contained file: inline CSS, charts
//! as inline SVG, no script, no external asset; it reads the same figures as the run's tables (the
//! tables' bytes are parsed here, so report and tables cannot disagree). Deterministic like every output.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use settle_core::statement::CheckRecord;
use settle_core::{Currency, Date, Decimal};

use crate::ReportError;

/// A channel's rows and how far they got tonight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelProgress {
    pub channel: String,
    pub rows: u64,
    /// Rows matched to their order (stage A).
    pub matched_a: u64,
    /// Rows whose payout batch matched a bank credit (stage B).
    pub matched_b: u64,
}

/// Channel fees per channel and settlement currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFees {
    pub channel: String,
    pub currency: Currency,
    pub rows: u64,
    pub fees: Decimal,
}

/// What the report shows.
pub struct ReportInput<'a> {
    pub job: &'a str,
    pub business_date: Date,
    /// settle's version (the build commit stays in the manifest: a rebuild must not change the report).
    pub version: &'a str,
    pub summary: &'a serde_json::Value,
    /// The statements of the night's bank files (cash position).
    pub statements: &'a [CheckRecord],
    pub channels: &'a [ChannelProgress],
    pub fees: &'a [ChannelFees],
    /// The run's own tables.
    pub exceptions_csv: &'a [u8],
    pub fx_cost_csv: &'a [u8],
    pub payouts_csv: &'a [u8],
    /// The manifest's inputs (role, path, bytes, sha256).
    pub inputs: &'a [serde_json::Value],
}

/// How many exception rows the report lists (all are in exceptions.csv).
const TOP_EXCEPTIONS_MAX: usize = 25;

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Rows of a CSV table by column name.
fn table(bytes: &[u8], name: &'static str) -> Result<Vec<BTreeMap<String, String>>, ReportError> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|source| ReportError::Csv { table: name, source })?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|source| ReportError::Csv { table: name, source })?;
        rows.push(header.iter().cloned().zip(record.iter().map(str::to_string)).collect());
    }
    Ok(rows)
}

fn get<'a>(row: &'a BTreeMap<String, String>, column: &str) -> &'a str {
    row.get(column).map_or("", String::as_str)
}

/// A horizontal bar chart: one bar per (label, value, colour class), scaled to the largest value.
fn bars(items: &[(String, Bar, &str)]) -> String {
    let max = items.iter().map(|(_, v, _)| v.0).max().unwrap_or(0).max(1);
    let (row_h, label_w, bar_w) = (22u64, 260u64, 420u64);
    let height = row_h * items.len() as u64 + 4;
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\">",
        label_w + bar_w + 120,
        label_w + bar_w + 120
    );
    for (i, (label, value, class)) in items.iter().enumerate() {
        let y = row_h * i as u64 + 2;
        let w = (value.0 * bar_w / max).max(u64::from(value.0 > 0));
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            label_w - 6,
            y + 15,
            esc(label),
            label_w,
            y + 3,
            row_h - 6,
            label_w + w + 6,
            y + 15,
            esc(&value.1)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A bar's length in integer units and the text printed beside it (no floating point anywhere).
struct Bar(u64, String);

fn units(value: Decimal) -> u64 {
    // Bars are drawn in hundredths; negative values draw as empty.
    let scaled = (value * Decimal::ONE_HUNDRED).round();
    u64::try_from(scaled.mantissa()).unwrap_or(0) / 10u64.pow(scaled.scale())
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "–".into();
    }
    let p = Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole);
    format!("{} %", p.round_dp(1))
}

/// Renders `report.html`.
pub fn report_html(input: &ReportInput<'_>) -> Result<Vec<u8>, ReportError> {
    let s = input.summary;
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("settle · {} · {}", input.job, input.business_date);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        esc(&title)
    );
    let outcome = s["outcome"].as_str().unwrap_or("");
    let exit = s["exit_code"].as_u64().unwrap_or(2);
    let _ = writeln!(
        h,
        "<header><h1>Settlement report</h1><p class=\"meta\">job <b>{}</b> · business date <b>{}</b> · outcome <b class=\"{}\">{}</b> (exit {exit}) · settle {}</p></header>",
        esc(input.job),
        input.business_date,
        if exit == 0 { "ok" } else { "warn" },
        esc(outcome),
        esc(input.version)
    );

    // Cash position.
    h.push_str("<section><h2>Cash position</h2>");
    if input.statements.is_empty() {
        h.push_str("<p>No bank statements tonight (entries from CSV files carry no balances).</p>");
    } else {
        h.push_str("<table><tr><th>account</th><th>currency</th><th>statements</th><th>from</th><th>to</th><th class=\"n\">opening</th><th class=\"n\">credits</th><th class=\"n\">debits</th><th class=\"n\">closing</th><th>balances add up</th></tr>");
        let mut by_account: BTreeMap<(String, String), Vec<&CheckRecord>> = BTreeMap::new();
        for r in input.statements.iter().filter(|r| r.duplicate_of.is_none()) {
            by_account
                .entry((r.account.clone().unwrap_or_default(), r.currency.clone().unwrap_or_default()))
                .or_default()
                .push(r);
        }
        for ((account, currency), records) in by_account.iter_mut() {
            // In the order the balances chain (statements delivered out of order), not as the files came.
            records.sort_by_key(|r| r.chain_position.unwrap_or(usize::MAX));
            let sum = |f: fn(&CheckRecord) -> &str| -> Decimal {
                records.iter().filter_map(|r| f(r).parse::<Decimal>().ok()).sum()
            };
            let first = records.first().expect("grouped");
            let last = records.last().expect("grouped");
            // Each statement's balances, and the chain between them (overlapping or missing statements).
            let ok = records.iter().all(|r| r.balance_ok != Some(false) && !r.chain_gap);
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"{}\">{}</td></tr>",
                esc(account),
                esc(currency),
                records.len(),
                esc(first.from.as_deref().unwrap_or("")),
                esc(last.to.as_deref().unwrap_or("")),
                esc(first.opening.as_deref().unwrap_or("–")),
                sum(|r| r.sum_credits.as_str()),
                sum(|r| r.sum_debits.as_str()),
                esc(last.closing.as_deref().unwrap_or("–")),
                if ok { "ok" } else { "bad" },
                if ok { "yes" } else { "no" }
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>\n");

    // Matching.
    h.push_str("<section><h2>Matching</h2><table><tr><th>stage</th><th class=\"n\">matched</th><th class=\"n\">open</th><th class=\"n\">exception</th><th class=\"n\">rejected</th><th class=\"n\">match rate</th></tr>");
    let mut rate_bars = Vec::new();
    if let Some(stages) = s["records_by_status"].as_object() {
        for (stage, counts) in stages {
            let n = |k: &str| counts[k].as_u64().unwrap_or(0);
            let total = n("matched") + n("open") + n("exception") + n("rejected");
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(stage),
                n("matched"),
                n("open"),
                n("exception"),
                n("rejected"),
                percent(n("matched"), total)
            );
            rate_bars.push((
                format!("stage {stage}"),
                Bar(n("matched") * 10_000 / total.max(1), percent(n("matched"), total)),
                "b1",
            ));
        }
    }
    h.push_str("</table>");
    for c in input.channels {
        rate_bars.push((
            format!("{} · A", c.channel),
            Bar(c.matched_a * 10_000 / c.rows.max(1), percent(c.matched_a, c.rows)),
            "b2",
        ));
        rate_bars.push((
            format!("{} · B", c.channel),
            Bar(c.matched_b * 10_000 / c.rows.max(1), percent(c.matched_b, c.rows)),
            "b3",
        ));
    }
    h.push_str("<h3>Match rate by stage and channel (records)</h3>");
    h.push_str(&bars(&rate_bars));
    h.push_str("</section>\n");

    // Exceptions.
    let exceptions = table(input.exceptions_csv, "exceptions.csv")?;
    let _ = write!(h, "<section><h2>Exceptions</h2><p>{} in exceptions.csv.</p>", exceptions.len());
    h.push_str("<table><tr><th>reason</th><th>status</th><th>severity</th><th class=\"n\">count</th></tr>");
    if let Some(reasons) = s["exceptions_by_reason"].as_object() {
        for (reason, d) in reasons {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"sev-{}\">{}</td><td class=\"n\">{}</td></tr>",
                esc(reason),
                esc(d["status"].as_str().unwrap_or("")),
                esc(d["severity"].as_str().unwrap_or("")),
                esc(d["severity"].as_str().unwrap_or("")),
                d["count"]
            );
        }
    }
    h.push_str("</table>");
    let mut by_age: BTreeMap<u64, u64> = BTreeMap::new();
    for e in &exceptions {
        let age = get(e, "age_business_days").parse::<u64>().unwrap_or(0);
        let bucket = match age {
            0..=1 => 1,
            2..=5 => 5,
            6..=20 => 20,
            _ => 21,
        };
        *by_age.entry(bucket).or_default() += 1;
    }
    let age_bars: Vec<(String, Bar, &str)> = by_age
        .iter()
        .map(|(bucket, n)| {
            let label = match bucket {
                1 => "0–1 business days",
                5 => "2–5 business days",
                20 => "6–20 business days",
                _ => "over 20 business days",
            };
            (label.to_string(), Bar(*n, n.to_string()), "b4")
        })
        .collect();
    h.push_str("<h3>By age</h3>");
    h.push_str(&bars(&age_bars));
    let severity_rank = |e: &BTreeMap<String, String>| match get(e, "severity") {
        "high" => 0,
        "medium" => 1,
        _ => 2,
    };
    let mut top: Vec<&BTreeMap<String, String>> = exceptions.iter().collect();
    top.sort_by(|a, b| {
        let amount = |e: &BTreeMap<String, String>| {
            let left = get(e, "left_amount").parse::<Decimal>().unwrap_or_default().abs();
            let right = get(e, "right_amount").parse::<Decimal>().unwrap_or_default().abs();
            left.max(right)
        };
        (severity_rank(a), std::cmp::Reverse(amount(a)), get(a, "exception_id")).cmp(&(
            severity_rank(b),
            std::cmp::Reverse(amount(b)),
            get(b, "exception_id"),
        ))
    });
    let _ = write!(
        h,
        "<h3>Top items (by severity, then amount; {} of {})</h3>",
        top.len().min(TOP_EXCEPTIONS_MAX),
        top.len()
    );
    h.push_str("<table><tr><th>id</th><th>stage</th><th>reason</th><th>severity</th><th class=\"n\">age</th><th>record</th><th class=\"n\">amount</th><th>detail</th></tr>");
    for e in top.iter().take(TOP_EXCEPTIONS_MAX) {
        let (id, amount, currency) = if get(e, "left_id").is_empty() {
            (get(e, "right_id"), get(e, "right_amount"), get(e, "right_currency"))
        } else {
            (get(e, "left_id"), get(e, "left_amount"), get(e, "left_currency"))
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"sev-{}\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{} {}</td><td>{}</td></tr>",
            esc(get(e, "exception_id")),
            esc(get(e, "stage")),
            esc(get(e, "reason_code")),
            esc(get(e, "severity")),
            esc(get(e, "severity")),
            esc(get(e, "age_business_days")),
            esc(id),
            esc(amount),
            esc(currency),
            esc(get(e, "detail"))
        );
    }
    h.push_str("</table></section>\n");

    // FX cost and fees.
    let fx = table(input.fx_cost_csv, "fx_cost.csv")?;
    h.push_str("<section><h2>FX cost</h2><p>What the channels' conversions cost against the reference rates.</p><table><tr><th>channel</th><th>pair</th><th class=\"n\">transactions</th><th class=\"n\">settled</th><th class=\"n\">at reference rates</th><th class=\"n\">cost</th><th class=\"n\">bps</th></tr>");
    let mut fx_bars = Vec::new();
    for r in &fx {
        let pair = format!("{}→{}", get(r, "presentment_currency"), get(r, "settlement_currency"));
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} {}</td><td class=\"n\">{}</td></tr>",
            esc(get(r, "channel")),
            esc(&pair),
            esc(get(r, "transactions")),
            esc(get(r, "settled_amount")),
            esc(get(r, "reference_amount")),
            esc(get(r, "fx_cost")),
            esc(get(r, "settlement_currency")),
            esc(get(r, "fx_cost_bps"))
        );
        let bps = get(r, "fx_cost_bps").parse::<Decimal>().unwrap_or_default();
        fx_bars.push((format!("{} {pair}", get(r, "channel")), Bar(units(bps), format!("{bps} bps")), "b5"));
    }
    h.push_str("</table>");
    if !fx_bars.is_empty() {
        h.push_str("<h3>Cost in basis points</h3>");
        h.push_str(&bars(&fx_bars));
    }
    h.push_str("<h2>Channel fees</h2><table><tr><th>channel</th><th>currency</th><th class=\"n\">rows</th><th class=\"n\">fees</th></tr>");
    for f in input.fees {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&f.channel),
            f.currency,
            f.rows,
            settle_core::format_minor(f.fees, f.currency)
        );
    }
    h.push_str("</table></section>\n");

    // Payouts.
    let payouts = table(input.payouts_csv, "payouts.csv")?;
    let mut by: BTreeMap<(String, String), (u64, Decimal)> = BTreeMap::new();
    for p in &payouts {
        let e = by.entry((get(p, "currency").to_string(), get(p, "status").to_string())).or_default();
        e.0 += 1;
        e.1 += get(p, "amount").parse::<Decimal>().unwrap_or_default();
    }
    h.push_str("<section><h2>Payouts</h2><table><tr><th>currency</th><th>status</th><th class=\"n\">payouts</th><th class=\"n\">amount</th></tr>");
    for ((currency, status), (n, amount)) in &by {
        let class = if status == "payable" { "ok" } else { "warn" };
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"{class}\">{}</td><td class=\"n\">{n}</td><td class=\"n\">{}</td></tr>",
            esc(currency),
            esc(status),
            amount
        );
    }
    h.push_str("</table><p>Payable payouts are in the pain.001 files under payouts/; every other status is carried to the next night (open_balances.csv) or held, with each line in the beneficiary's statement of account.</p></section>\n");

    // Provenance.
    h.push_str("<section><h2>Provenance</h2><table><tr><th>role</th><th>path</th><th class=\"n\">bytes</th><th>sha256</th></tr>");
    for i in input.inputs {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"h\">{}</td></tr>",
            esc(i["role"].as_str().unwrap_or("")),
            esc(i["path"].as_str().unwrap_or("")),
            i["bytes"].as_u64().map(|b| b.to_string()).unwrap_or_default(),
            esc(i["sha256"].as_str().unwrap_or(""))
        );
    }
    let _ = write!(
        h,
        "</table><p>Every output's sha256 and the root hash are in manifest.json; <code>settle replay</code> recomputes this run from the input archive and <code>settle verify</code> checks it.</p></section>\n<footer>{}</footer></body></html>\n",
        esc(&title)
    );
    Ok(h.into_bytes())
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2430;margin:24px auto;max-width:1100px;padding:0 16px}\
h1{font-size:24px;margin:0}h2{font-size:18px;border-bottom:1px solid #d5dbe3;padding-bottom:4px;margin-top:32px}h3{font-size:14px;margin:18px 0 6px}\
.meta{color:#4a5568}table{border-collapse:collapse;margin:8px 0;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #edf0f4;text-align:left;vertical-align:top}\
th{background:#f5f7fa;font-weight:600}td{overflow-wrap:anywhere}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.h{font-family:ui-monospace,monospace;font-size:11px}\
.ok{color:#1c7c3a}.warn{color:#a15c00}.bad{color:#b42318;font-weight:600}.sev-high{color:#b42318}.sev-medium{color:#a15c00}.sev-low{color:#4a5568}\
svg.chart{display:block;max-width:100%;height:auto}svg text{font:12px system-ui,sans-serif;fill:#1d2430}\
rect.b1{fill:#2f6fdf}rect.b2{fill:#3a9d5d}rect.b3{fill:#7a5cc7}rect.b4{fill:#d98b1f}rect.b5{fill:#c8483b}\
footer{margin-top:32px;color:#8792a2;font-size:12px}";
