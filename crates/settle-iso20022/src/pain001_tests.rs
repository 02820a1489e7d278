use super::pain001::*;
use settle_core::{Currency, Decimal, Money, parse_date};

fn money(amount: &str, currency: &str) -> Money {
    Money::new(amount.parse().unwrap(), Currency::from_code(currency).unwrap())
}

fn address(street: &str, number: &str, post_code: &str, town: &str, country: &str) -> Option<PostalAddress> {
    Some(PostalAddress {
        street: Some(street.into()),
        building_number: Some(number.into()),
        post_code: Some(post_code.into()),
        town: Some(town.into()),
        country: country.into(),
    })
}

fn transfer(e2e: &str, amount: Money, name: &str, account: Account) -> CreditTransfer {
    CreditTransfer {
        instruction_id: None,
        end_to_end_id: e2e.into(),
        amount,
        charge_bearer: None,
        creditor_agent: None,
        creditor: Party { name: name.into(), address: None },
        creditor_account: account,
        purpose: None,
        regulatory_code: None,
        remittance: Some(format!("Settlement {e2e}")),
    }
}

/// A SEPA batch of two EUR transfers and a cross-border batch of one USD transfer with BIC, clearing
/// code, structured address, purpose and regulatory code.
fn file(version: Pain001Version) -> Pain001 {
    let debtor = Party {
        name: "Marketplace Europe GmbH".into(),
        address: address("Hauptstrasse", "1", "10115", "Berlin", "DE"),
    };
    let sepa = PaymentBatch {
        payment_info_id: "gen-20261102-EUR-1".into(),
        batch_booking: Some(true),
        service_level: Some("SEPA".into()),
        execution_date: parse_date("2026-11-02").unwrap(),
        debtor: debtor.clone(),
        debtor_account: Account::Iban("DE89370400440532013000".into()),
        debtor_account_currency: None,
        debtor_agent: Agent { bic: Some("COBADEFFXXX".into()), clearing: None },
        charge_bearer: Some(ChargeBearer::ServiceLevel),
        transfers: vec![
            transfer(
                "P-20261031-B00001-1",
                money("1234.56", "EUR"),
                "Müller & Söhne GmbH",
                Account::Iban("DE02120300000000202051".into()),
            ),
            transfer(
                "P-20261031-B00002-1",
                money("0.01", "EUR"),
                "Café Olé",
                Account::Iban("FR1420041010050500013M02606".into()),
            ),
        ],
    };
    let mut cross = transfer(
        "P-20261031-B00003-1",
        money("250000.00", "USD"),
        "Acme Trading LLC",
        Account::Other("123456789".into()),
    );
    cross.creditor.address = address("Main Street", "500", "10001", "New York", "US");
    cross.creditor_agent =
        Some(Agent { bic: Some("CHASUS33".into()), clearing: Some(("USABA".into(), "021000021".into())) });
    cross.charge_bearer = Some(ChargeBearer::Shared);
    cross.purpose = Some("SUPP".into());
    cross.regulatory_code = Some("150".into());
    let usd = PaymentBatch {
        payment_info_id: "gen-20261102-USD-1".into(),
        batch_booking: Some(false),
        service_level: None,
        execution_date: parse_date("2026-11-02").unwrap(),
        debtor,
        debtor_account: Account::Iban("GB33BUKB20201555555555".into()),
        debtor_account_currency: Some(Currency::from_code("USD").unwrap()),
        debtor_agent: Agent { bic: Some("BUKBGB22".into()), clearing: None },
        charge_bearer: None,
        transfers: vec![cross],
    };
    Pain001 {
        version,
        message_id: "gen-20261031-1".into(),
        created: "2026-10-31T18:00:00+01:00".into(),
        initiating_party: Party { name: "Marketplace Europe GmbH".into(), address: None },
        batches: vec![sepa, usd],
    }
}

#[test]
fn totals_are_counted_per_file_and_per_batch() {
    let written = write_pain001(&file(Pain001Version::V09), Charset::Utf8).unwrap();
    assert_eq!(written.transactions, 3);
    assert_eq!(written.control_sum, "251234.57".parse::<Decimal>().unwrap());
    let xml = &written.xml;
    assert!(xml.contains("<NbOfTxs>3</NbOfTxs>") && xml.contains("<CtrlSum>251234.57</CtrlSum>"), "{xml}");
    assert!(xml.contains("<NbOfTxs>2</NbOfTxs>") && xml.contains("<CtrlSum>1234.57</CtrlSum>"), "{xml}");
    assert!(xml.contains("<NbOfTxs>1</NbOfTxs>") && xml.contains("<CtrlSum>250000.00</CtrlSum>"), "{xml}");
    assert!(xml.contains("<InstdAmt Ccy=\"EUR\">0.01</InstdAmt>"));
    assert!(xml.contains("<Nm>Müller &amp; Söhne GmbH</Nm>"), "UTF-8 keeps names, escaped");
    // Version differences: the BIC element and the execution date.
    assert!(xml.contains("<BICFI>COBADEFFXXX</BICFI>") && xml.contains("<ReqdExctnDt>\n"));
    let v03 = write_pain001(&file(Pain001Version::V03), Charset::Utf8).unwrap().xml;
    assert!(v03.contains("<BIC>COBADEFFXXX</BIC>") && v03.contains("<ReqdExctnDt>2026-11-02</ReqdExctnDt>"));
    // Same input, same bytes.
    assert_eq!(write_pain001(&file(Pain001Version::V09), Charset::Utf8).unwrap().xml, *xml);
}

#[test]
fn the_sepa_charset_transliterates_texts_and_says_where() {
    let written = write_pain001(&file(Pain001Version::V09), Charset::SepaLatin).unwrap();
    assert!(written.xml.contains("<Nm>Muller + Sohne GmbH</Nm>"), "{}", written.xml);
    assert!(written.xml.contains("<Nm>Cafe Ole</Nm>"));
    let paths: Vec<(&str, &str)> = written.transliterated.iter().map(|t| (t.path.as_str(), t.to.as_str())).collect();
    assert_eq!(
        paths,
        vec![
            ("PmtInf[1]/CdtTrfTxInf[1]/Cdtr/Nm", "Muller + Sohne GmbH"),
            ("PmtInf[1]/CdtTrfTxInf[2]/Cdtr/Nm", "Cafe Ole")
        ]
    );
    assert_eq!(sepa_latin("Straße Ærø Łódź ½"), "Strasse AEro Lodz .");
    // Ids are never changed: one outside the subset is refused.
    let mut doc = file(Pain001Version::V09);
    doc.batches[0].transfers[0].end_to_end_id = "P_1".into();
    let err = write_pain001(&doc, Charset::SepaLatin).unwrap_err();
    assert_eq!(err.path, "PmtInf[1]/CdtTrfTxInf[1]/PmtId/EndToEndId");
    assert!(write_pain001(&doc, Charset::Utf8).is_ok(), "outside SEPA the id is fine");
}

#[test]
fn what_a_bank_would_reject_is_refused_with_its_place() {
    type Change = Box<dyn Fn(&mut Pain001)>;
    let cases: Vec<(Change, &str, &str)> = vec![
        (
            Box::new(|d| d.batches[0].transfers[1].amount = money("0", "EUR")),
            "PmtInf[1]/CdtTrfTxInf[2]/Amt/InstdAmt",
            "above zero",
        ),
        (
            Box::new(|d| d.batches[0].transfers[1].amount = money("1.001", "EUR")),
            "PmtInf[1]/CdtTrfTxInf[2]/Amt/InstdAmt",
            "more decimals",
        ),
        (
            Box::new(|d| d.batches[0].debtor_agent.bic = Some("COBA DEFF".into())),
            "PmtInf[1]/DbtrAgt/FinInstnId/BICFI",
            "not a BIC",
        ),
        (
            Box::new(|d| d.batches[0].transfers[0].creditor_account = Account::Iban("de02 1203".into())),
            "PmtInf[1]/CdtTrfTxInf[1]/CdtrAcct/Id/IBAN",
            "not an IBAN",
        ),
        (Box::new(|d| d.message_id = "x".repeat(36)), "GrpHdr/MsgId", "1 to 35"),
        (
            Box::new(|d| d.batches[1].transfers[0].creditor.address.as_mut().unwrap().country = "USA".into()),
            "PmtInf[2]/CdtTrfTxInf[1]/Cdtr/PstlAdr/Ctry",
            "alpha-2",
        ),
        (
            Box::new(|d| d.batches[1].transfers[0].creditor.name = "N".repeat(141)),
            "PmtInf[2]/CdtTrfTxInf[1]/Cdtr/Nm",
            "longer than 140",
        ),
        (Box::new(|d| d.batches[1].transfers.clear()), "PmtInf[2]", "at least one transfer"),
        (
            Box::new(|d| d.batches[1].transfers[0].purpose = Some("SUPPLY".into())),
            "PmtInf[2]/CdtTrfTxInf[1]/Purp/Cd",
            "purpose code",
        ),
    ];
    for (change, path, message) in cases {
        let mut doc = file(Pain001Version::V09);
        change(&mut doc);
        let err = write_pain001(&doc, Charset::Utf8).unwrap_err();
        assert_eq!(err.path, path, "{err}");
        assert!(err.message.contains(message), "{err}");
    }
}

/// The output validates against the official schemas in schemas/ (copied from ../shared/iso20022/xsd).
#[test]
fn written_files_validate_against_the_official_xsd() {
    let xmllint = std::process::Command::new("xmllint").arg("--version").output();
    if xmllint.is_err() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but xmllint is missing (libxml2-utils)");
        eprintln!("skipping: xmllint not installed");
        return;
    }
    let schemas = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let dir = std::env::temp_dir().join(format!("settle-pain001-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (version, xsd) in [(Pain001Version::V09, "pain.001.001.09.xsd"), (Pain001Version::V03, "pain.001.001.03.xsd")] {
        for charset in [Charset::Utf8, Charset::SepaLatin] {
            let path = dir.join(format!("{xsd}.{charset:?}.xml"));
            std::fs::write(&path, write_pain001(&file(version), charset).unwrap().xml).unwrap();
            let out = std::process::Command::new("xmllint")
                .arg("--noout")
                .arg("--schema")
                .arg(schemas.join(xsd))
                .arg(&path)
                .output()
                .unwrap();
            assert!(out.status.success(), "{xsd} {charset:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

mod pain002 {
    use crate::pain002::*;
    use crate::xml::Limits;

    fn read(xml: &str) -> Result<Vec<PaymentStatus>, Pain002Error> {
        read_pain002("s.xml", xml.as_bytes(), Limits::default())
    }

    #[test]
    fn reads_a_bank_published_status_report() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pain002/postfinance_pain002_epo.xml");
        let statuses = read_pain002("pf.xml", std::fs::File::open(path).unwrap(), Limits::default()).unwrap();
        assert_eq!(statuses.len(), 2, "{statuses:#?}");
        let (batch, tx) = (&statuses[0], &statuses[1]);
        assert_eq!(batch.level, Some(StatusLevel::Batch));
        assert_eq!(
            (batch.status.as_str(), batch.original_payment_info_id.as_deref()),
            ("PART", Some("PmtInfId-001-03"))
        );
        assert_eq!(tx.level, Some(StatusLevel::Transaction));
        assert_eq!(tx.original_end_to_end_id.as_deref(), Some("EndToEndId-001-03-04"));
        assert_eq!(tx.original_instruction_id.as_deref(), Some("InstrId-001-03-04"));
        assert_eq!(tx.original_payment_info_id.as_deref(), Some("PmtInfId-001-03"), "inherited from its batch");
        assert!(tx.is_rejected());
        assert_eq!(tx.reason_codes, ["AC01"]);
        assert_eq!(tx.additional_info, "1301813;Konto ungültig");
        assert_eq!((tx.report_id.as_str(), tx.original_message_id.as_str()), ("20180315375204222822452", "MsgId-001"));
        assert_eq!(tx.xml_path, "OrgnlPmtInfAndSts[1]/TxInfAndSts[1]");
    }

    #[test]
    fn reads_group_batch_and_transaction_statuses_of_our_own_file() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>
<GrpHdr><MsgId>STS-1</MsgId><CreDtTm>2026-11-02T08:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>S86AE24A1-20261031-EUR-1</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>S86AE24A1-20261031-EUR-1-1</OrgnlPmtInfId>
<TxInfAndSts><OrgnlEndToEndId>PO20261031-AAA</OrgnlEndToEndId><TxSts>ACCP</TxSts></TxInfAndSts>
<TxInfAndSts><OrgnlEndToEndId>PO20261031-BBB</OrgnlEndToEndId><TxSts>RJCT</TxSts>
<StsRsnInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>account closed</AddtlInf></StsRsnInf>
<StsRsnInf><Rsn><Prtry>X99</Prtry></Rsn></StsRsnInf></TxInfAndSts>
</OrgnlPmtInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>S86AE24A1-20261031-EUR-1-2</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>
<StsRsnInf><Rsn><Cd>AM05</Cd></Rsn></StsRsnInf></OrgnlPmtInfAndSts>
</CstmrPmtStsRpt></Document>"#;
        let statuses = read(xml).unwrap();
        let seen: Vec<(&str, &str, Option<&str>, Vec<&str>)> = statuses
            .iter()
            .map(|s| {
                (
                    s.level.unwrap().as_str(),
                    s.status.as_str(),
                    s.original_end_to_end_id.as_deref().or(s.original_payment_info_id.as_deref()),
                    s.reason_codes.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                ("group", "PART", None, vec![]),
                ("transaction", "ACCP", Some("PO20261031-AAA"), vec![]),
                ("transaction", "RJCT", Some("PO20261031-BBB"), vec!["AC04", "X99"]),
                ("batch", "RJCT", Some("S86AE24A1-20261031-EUR-1-2"), vec!["AM05"]),
            ]
        );
        assert!(statuses.iter().all(|s| s.original_message_id == "S86AE24A1-20261031-EUR-1" && s.report_id == "STS-1"));
        assert_eq!(statuses[2].additional_info, "account closed");
        assert_eq!(statuses[2].original_payment_info_id.as_deref(), Some("S86AE24A1-20261031-EUR-1-1"));
    }

    #[test]
    fn refuses_what_is_not_a_status_report_or_not_safe() {
        let err = read("<Document><BkToCstmrStmt/></Document>").unwrap_err();
        assert!(err.message.contains("expected <Document><CstmrPmtStsRpt>"), "{err}");
        let err = read("<!DOCTYPE d [<!ENTITY x \"y\">]><Document><CstmrPmtStsRpt/></Document>").unwrap_err();
        assert!(err.message.contains("DOCTYPE"), "{err}");
        let err = read("<Document><CstmrPmtStsRpt><GrpHdr><MsgId>&x;</MsgId></GrpHdr></CstmrPmtStsRpt></Document>")
            .unwrap_err();
        assert!(err.message.contains("not expanded"), "{err}");
        assert_eq!(err.path, "/Document/CstmrPmtStsRpt/GrpHdr/MsgId");
        let err = read("<Document><CstmrPmtStsRpt><GrpHdr>").unwrap_err();
        assert!(err.message.contains("ends inside an element"), "{err}");
        assert!(read("").unwrap_err().message.contains("empty document"));
        let deep = format!(
            "<Document><CstmrPmtStsRpt>{}</CstmrPmtStsRpt></Document>",
            "<a>".repeat(100) + &"</a>".repeat(100)
        );
        assert!(read(&deep).unwrap_err().message.contains("nested deeper"));
    }
}
