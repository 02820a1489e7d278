//! Decoding MT940 bytes: UTF-8, or a single-byte code page chosen by the job or by evidence.
//!
//! The code page tables live in settle-core (`settle_core::text`), shared with the CSV reader.

use settle_core::text::decode_byte;
pub use settle_core::text::{TextEncoding, decode_single_byte};

/// How text was decoded, and whether the choice was certain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// Borrowed when the bytes were UTF-8 already.
    pub text: std::borrow::Cow<'a, str>,
    pub encoding: TextEncoding,
    /// Set when the encoding was a guess from evidence: names the bytes the guess rests on.
    pub warning: Option<String>,
}

/// How plausible a decoding's high characters are as text: letters count, symbols and controls do not.
fn score(bytes: &[u8], encoding: TextEncoding) -> (i64, usize) {
    let mut score = 0i64;
    let mut high = 0usize;
    for &b in bytes {
        if b < 0x80 {
            continue;
        }
        high += 1;
        let c = decode_byte(encoding, b);
        score += if c.is_alphabetic() {
            2
        } else if c.is_control() || c == '\u{FFFD}' {
            -3
        } else {
            -1
        };
    }
    (score, high)
}

/// Decodes MT940 bytes: `declared` when the job says so; else UTF-8 when the bytes are valid UTF-8;
/// else the single-byte code page whose decoding reads most like text, with a warning naming the bytes
/// (CP852 is preferred to CP850 on a tie when the file is about Central European currencies).
pub fn decode(bytes: &[u8], declared: Option<TextEncoding>) -> Decoded<'_> {
    if let Some(encoding) = declared {
        let text = match encoding {
            TextEncoding::Utf8 => String::from_utf8_lossy(bytes),
            other => std::borrow::Cow::Owned(decode_single_byte(bytes, other)),
        };
        return Decoded { text, encoding, warning: None };
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Decoded { text: std::borrow::Cow::Borrowed(text), encoding: TextEncoding::Utf8, warning: None };
    }
    let central = ["HUF", "PLN", "CZK"].iter().any(|c| bytes.windows(3).any(|w| w == c.as_bytes()));
    let mut candidates = [TextEncoding::Windows1252, TextEncoding::Cp850, TextEncoding::Cp852];
    if central {
        candidates = [TextEncoding::Cp852, TextEncoding::Windows1252, TextEncoding::Cp850];
    }
    let mut best = candidates[0];
    let mut best_score = score(bytes, best).0;
    for &c in &candidates[1..] {
        let s = score(bytes, c).0;
        if s > best_score {
            best = c;
            best_score = s;
        }
    }
    let mut sample: Vec<String> = Vec::new();
    for (i, b) in bytes.iter().enumerate().filter(|(_, b)| **b >= 0x80).take(6) {
        sample.push(format!("0x{b:02X} at byte {i}"));
    }
    let high = score(bytes, best).1;
    let text = std::borrow::Cow::Owned(decode_single_byte(bytes, best));
    let warning = Some(format!(
        "not UTF-8: decoded as {} by evidence ({high} non-ASCII bytes, e.g. {}); declare the encoding in the job if this is wrong",
        best.name(),
        sample.join(", ")
    ));
    Decoded { text, encoding: best, warning }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_by_evidence_and_by_declaration() {
        let utf8 = "Grüße".as_bytes();
        assert_eq!(decode(utf8, None), Decoded { text: "Grüße".into(), encoding: TextEncoding::Utf8, warning: None });
        assert!(matches!(decode(utf8, None).text, std::borrow::Cow::Borrowed(_)), "UTF-8 is not copied");
        let latin = b"Gr\xfc\xdfe EUR";
        let d = decode(latin, None);
        assert_eq!(d.text, "Grüße EUR");
        assert_eq!(d.encoding, TextEncoding::Windows1252);
        assert!(d.warning.unwrap().contains("0xFC at byte 2"));
        let hungarian = b"HUF \xa0tutal\xa0s j\xa2v\xa0\xa1r\xa0sa";
        let d = decode(hungarian, None);
        assert_eq!(d.encoding, TextEncoding::Cp852);
        assert_eq!(d.text, "HUF átutalás jóváírása");
        assert_eq!(decode(b"\x81ber", Some(TextEncoding::Cp850)).text, "über");
        assert_eq!(TextEncoding::parse("cp852"), Some(TextEncoding::Cp852));
    }
}
