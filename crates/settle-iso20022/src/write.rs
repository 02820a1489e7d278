//! A camt.053 writer for generated days, tests and benchmarks. It writes what the reader extracts, in
//! the element order of the version's schema, so that read ∘ write is the identity on the fields it
//! covers (a property test checks this).

use std::fmt::Write as _;

use settle_core::{Direction, Money, format_minor};

use crate::model::{Entry, MessageFormat, MessageKind, Statement};

/// What goes into a written camt.053 besides the statements.
#[derive(Debug, Clone)]
pub struct StatementToWrite<'a> {
    pub version: u8,
    pub message_id: &'a str,
    /// xs:dateTime
    pub created: &'a str,
    pub statements: &'a [Statement],
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// `text` as XML character data (also safe in a double-quoted attribute).
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
}

fn tag(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", escape(text));
}

fn opt(out: &mut String, name: &str, text: &Option<impl AsRef<str>>) {
    if let Some(t) = text.as_ref().map(AsRef::as_ref) {
        tag(out, name, t);
    }
}

fn amount(out: &mut String, name: &str, money: Money) {
    let _ = write!(
        out,
        "<{name} Ccy=\"{}\">{}</{name}>",
        money.currency(),
        format_minor(money.amount().abs(), money.currency())
    );
}

fn direction(d: Direction) -> &'static str {
    d.as_str()
}

/// Writes a camt.053 document (UTF-8, one element per line).
pub fn write_camt053(doc: &StatementToWrite<'_>) -> String {
    let mut out = String::with_capacity(1024 + doc.statements.iter().map(|s| s.entries.len() * 700).sum::<usize>());
    document_head(&mut out, doc.version, doc.message_id, doc.created);
    for s in doc.statements {
        statement_head(&mut out, doc.version, s, doc.created);
        for e in &s.entries {
            entry(&mut out, doc.version, e);
        }
        out.push_str("</Stmt>\n");
    }
    out.push_str(DOCUMENT_TAIL);
    out
}

const DOCUMENT_TAIL: &str = "</BkToCstmrStmt>\n</Document>\n";

fn document_head(out: &mut String, v: u8, message_id: &str, created: &str) {
    let format = MessageFormat { kind: MessageKind::Camt053, version: v };
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"{}\">\n<BkToCstmrStmt>\n",
        format.namespace()
    );
    out.push_str("<GrpHdr>");
    tag(out, "MsgId", message_id);
    tag(out, "CreDtTm", created);
    out.push_str("</GrpHdr>\n");
}

/// Writes a camt.053 document piece by piece into `W`, for statements too large to hold: the
/// statement head (balances and summary) first, then each entry as it is made.
pub struct Camt053Writer<W: std::io::Write> {
    inner: W,
    version: u8,
    created: String,
    buf: String,
}

impl<W: std::io::Write> Camt053Writer<W> {
    pub fn new(mut inner: W, version: u8, message_id: &str, created: &str) -> std::io::Result<Self> {
        let mut buf = String::with_capacity(4096);
        document_head(&mut buf, version, message_id, created);
        inner.write_all(buf.as_bytes())?;
        buf.clear();
        Ok(Camt053Writer { inner, version, created: created.to_string(), buf })
    }

    /// Opens a statement; its `entries` are ignored (write them with `entry`).
    pub fn start_statement(&mut self, s: &Statement) -> std::io::Result<()> {
        statement_head(&mut self.buf, self.version, s, &self.created);
        self.flush_buf()
    }

    pub fn entry(&mut self, e: &Entry) -> std::io::Result<()> {
        entry(&mut self.buf, self.version, e);
        if self.buf.len() > 1 << 16 { self.flush_buf() } else { Ok(()) }
    }

    pub fn end_statement(&mut self) -> std::io::Result<()> {
        self.buf.push_str("</Stmt>\n");
        self.flush_buf()
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.buf.push_str(DOCUMENT_TAIL);
        self.flush_buf()?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        self.inner.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        Ok(())
    }
}

/// Writes a statement's elements before its entries: ids, period, account, balances, summary.
fn statement_head(out: &mut String, v: u8, s: &Statement, created: &str) {
    let bic = if v >= 3 { "BICFI" } else { "BIC" };
    out.push_str("<Stmt>");
    tag(out, "Id", s.statement_id.as_deref().unwrap_or("STMT"));
    opt(out, "ElctrncSeqNb", &s.electronic_sequence);
    opt(out, "LglSeqNb", &s.legal_sequence);
    tag(out, "CreDtTm", s.created.as_deref().unwrap_or(created));
    if let (Some(from), Some(to)) = (&s.from, &s.to) {
        out.push_str("<FrToDt>");
        tag(out, "FrDtTm", from);
        tag(out, "ToDtTm", to);
        out.push_str("</FrToDt>");
    }
    out.push_str("\n<Acct><Id>");
    let account = s.account.clone().unwrap_or_default();
    if settle_core::iban::is_valid(&account) {
        tag(out, "IBAN", &account);
    } else {
        out.push_str("<Othr>");
        tag(out, "Id", &account);
        out.push_str("</Othr>");
    }
    out.push_str("</Id>");
    if let Some(c) = s.account_currency {
        tag(out, "Ccy", c.code());
    }
    if let Some(owner) = &s.owner {
        out.push_str("<Ownr>");
        tag(out, "Nm", owner);
        out.push_str("</Ownr>");
    }
    if let Some(b) = &s.servicer_bic {
        out.push_str("<Svcr><FinInstnId>");
        tag(out, bic, b);
        out.push_str("</FinInstnId></Svcr>");
    }
    out.push_str("</Acct>\n");
    for b in &s.balances {
        out.push_str("<Bal><Tp><CdOrPrtry>");
        tag(out, "Cd", &b.code);
        out.push_str("</CdOrPrtry></Tp>");
        amount(out, "Amt", b.amount);
        let sign = if b.amount.amount().is_sign_negative() && !b.amount.is_zero() { "DBIT" } else { "CRDT" };
        tag(out, "CdtDbtInd", sign);
        if let Some(d) = b.date {
            out.push_str("<Dt>");
            tag(out, "Dt", &d.to_string());
            out.push_str("</Dt>");
        }
        out.push_str("</Bal>\n");
    }
    if let Some(sum) = &s.summary {
        out.push_str("<TxsSummry><TtlNtries>");
        if let Some(n) = sum.total_count {
            tag(out, "NbOfNtries", &n.to_string());
        }
        if let Some(total) = sum.total_sum {
            tag(out, "Sum", &total.to_string());
        }
        if let Some(net) = sum.net {
            let sign = if net.is_sign_negative() && !net.is_zero() { "DBIT" } else { "CRDT" };
            if v >= 4 {
                out.push_str("<TtlNetNtry>");
                tag(out, "Amt", &net.abs().to_string());
                tag(out, "CdtDbtInd", sign);
                out.push_str("</TtlNetNtry>");
            } else {
                tag(out, "TtlNetNtryAmt", &net.abs().to_string());
                tag(out, "CdtDbtInd", sign);
            }
        }
        out.push_str("</TtlNtries>");
        for (name, count, total) in
            [("TtlCdtNtries", sum.credit_count, sum.credit_sum), ("TtlDbtNtries", sum.debit_count, sum.debit_sum)]
        {
            if count.is_some() || total.is_some() {
                let _ = write!(out, "<{name}>");
                if let Some(n) = count {
                    tag(out, "NbOfNtries", &n.to_string());
                }
                if let Some(t) = total {
                    tag(out, "Sum", &t.to_string());
                }
                let _ = write!(out, "</{name}>");
            }
        }
        out.push_str("</TxsSummry>\n");
    }
}

/// Writes one `Ntry`.
fn entry(out: &mut String, v: u8, e: &Entry) {
    out.push_str("<Ntry>");
    opt(out, "NtryRef", &e.entry_reference);
    amount(out, "Amt", e.amount);
    tag(out, "CdtDbtInd", direction(e.direction));
    if e.reversal {
        tag(out, "RvslInd", "true");
    }
    if v >= 8 {
        out.push_str("<Sts>");
        tag(out, "Cd", e.status.as_str());
        out.push_str("</Sts>");
    } else {
        tag(out, "Sts", e.status.as_str());
    }
    if let Some(d) = e.booking_date {
        out.push_str("<BookgDt>");
        tag(out, "Dt", &d.to_string());
        out.push_str("</BookgDt>");
    }
    if let Some(d) = e.value_date {
        out.push_str("<ValDt>");
        tag(out, "Dt", &d.to_string());
        out.push_str("</ValDt>");
    }
    opt(out, "AcctSvcrRef", &e.account_servicer_reference);
    out.push_str("<BkTxCd>");
    let code = e.bank_transaction_code.clone().unwrap_or_else(|| "PMNT/RCDT/ESCT".into());
    let parts: Vec<&str> = code.split('/').collect();
    if parts.len() == 3 {
        let _ = write!(
            out,
            "<Domn><Cd>{}</Cd><Fmly><Cd>{}</Cd><SubFmlyCd>{}</SubFmlyCd></Fmly></Domn>",
            escape(parts[0]),
            escape(parts[1]),
            escape(parts[2])
        );
    } else {
        out.push_str("<Prtry>");
        tag(out, "Cd", &code);
        out.push_str("</Prtry>");
    }
    out.push_str("</BkTxCd>");
    if e.batch_count.is_some() || !e.details.is_empty() {
        out.push_str("<NtryDtls>");
        if let Some(n) = e.batch_count {
            out.push_str("<Btch>");
            tag(out, "NbOfTxs", &n.to_string());
            if let Some(t) = e.batch_total {
                amount(out, "TtlAmt", t);
            }
            out.push_str("</Btch>");
        }
        for d in &e.details {
            let more = d.more();
            out.push_str("<TxDtls><Refs>");
            opt(out, "MsgId", &more.message_id);
            opt(out, "AcctSvcrRef", &more.account_servicer_reference);
            opt(out, "PmtInfId", &more.payment_information_id);
            opt(out, "InstrId", &d.instruction_id);
            opt(out, "EndToEndId", &d.end_to_end_id);
            opt(out, "TxId", &more.transaction_id);
            opt(out, "MndtId", &d.mandate_id);
            out.push_str("</Refs>");
            if let Some(a) = more.amount {
                if v >= 3 {
                    amount(out, "Amt", a);
                    tag(out, "CdtDbtInd", direction(more.direction.unwrap_or(e.direction)));
                } else {
                    out.push_str("<AmtDtls><TxAmt>");
                    amount(out, "Amt", a);
                    out.push_str("</TxAmt></AmtDtls>");
                }
            }
            let party = |out: &mut String, role: &str, name: &Option<settle_core::Text>| {
                if let Some(n) = name {
                    let _ = write!(out, "<{role}>");
                    if v >= 8 {
                        out.push_str("<Pty>");
                    }
                    tag(out, "Nm", n);
                    if v >= 8 {
                        out.push_str("</Pty>");
                    }
                    let _ = write!(out, "</{role}>");
                }
            };
            let account = |out: &mut String, role: &str, id: &Option<settle_core::Text>| {
                if let Some(id) = id {
                    let _ = write!(out, "<{role}><Id>");
                    if settle_core::iban::is_valid(id) {
                        tag(out, "IBAN", id);
                    } else {
                        out.push_str("<Othr>");
                        tag(out, "Id", id);
                        out.push_str("</Othr>");
                    }
                    let _ = write!(out, "</Id></{role}>");
                }
            };
            if d.debtor_name.is_some()
                || d.debtor_account.is_some()
                || d.creditor_name.is_some()
                || d.creditor_account.is_some()
            {
                out.push_str("<RltdPties>");
                party(out, "Dbtr", &d.debtor_name);
                account(out, "DbtrAcct", &d.debtor_account);
                party(out, "Cdtr", &d.creditor_name);
                account(out, "CdtrAcct", &d.creditor_account);
                out.push_str("</RltdPties>");
            }
            if d.remittance_info.is_some() || more.creditor_reference.is_some() {
                out.push_str("<RmtInf>");
                opt(out, "Ustrd", &d.remittance_info);
                if let Some(r) = &more.creditor_reference {
                    out.push_str("<Strd><CdtrRefInf>");
                    tag(out, "Ref", r);
                    out.push_str("</CdtrRefInf></Strd>");
                }
                out.push_str("</RmtInf>");
            }
            out.push_str("</TxDtls>");
        }
        out.push_str("</NtryDtls>");
    }
    opt(out, "AddtlNtryInf", &e.additional_info);
    out.push_str("</Ntry>\n");
}
