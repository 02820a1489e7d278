//! IBAN check (ISO 13616): shape and mod-97 check digits.

/// IBAN length per country of the SWIFT IBAN registry (ISO 13616), by ISO 3166 code.
const LENGTHS: [(&str, u8); 89] = [
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// The length of an IBAN of `country` per the IBAN registry; None for a country without IBANs.
pub fn iban_length(country: &str) -> Option<usize> {
    LENGTHS.iter().find(|(c, _)| *c == country).map(|(_, n)| usize::from(*n))
}

/// Whether `iban` (no spaces, upper case) has the length of its country in the IBAN registry, two check
/// digits, a BBAN of letters and digits, and passes the mod-97 check.
pub fn is_valid(iban: &str) -> bool {
    let bytes = iban.as_bytes();
    if bytes.len() < 15 || bytes.len() > 34 {
        return false;
    }
    if iban.get(..2).and_then(iban_length) != Some(bytes.len()) {
        return false;
    }
    if !bytes[..2].iter().all(u8::is_ascii_uppercase) || !bytes[2..4].iter().all(u8::is_ascii_digit) {
        return false;
    }
    if !bytes[4..].iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return false;
    }
    mod97(bytes) == 1
}

/// Computes the two check digits for a country code and BBAN (for generating test data).
pub fn check_digits(country: &str, bban: &str) -> Option<String> {
    let candidate = format!("{country}00{bban}");
    let bytes = candidate.as_bytes();
    if bytes.len() < 15 || !bytes.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{:02}", 98 - mod97(bytes)))
}

/// The ISO 7064 mod-97 remainder of an IBAN (country code and check digits moved to the end, letters as 10..35).
fn mod97(bytes: &[u8]) -> u32 {
    let mut remainder: u32 = 0;
    for &b in bytes[4..].iter().chain(&bytes[..4]) {
        let value = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        remainder = if value >= 10 { (remainder * 100 + value) % 97 } else { (remainder * 10 + value) % 97 };
    }
    remainder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ibans() {
        assert!(is_valid("DE89370400440532013000"));
        assert!(is_valid("GB29NWBK60161331926819"));
        assert!(is_valid("CH9300762011623852957"));
        assert!(!is_valid("DE88370400440532013000"));
        assert!(!is_valid("de89370400440532013000"));
        assert!(!is_valid("DE89"));
        assert_eq!(check_digits("DE", "370400440532013000").as_deref(), Some("89"));
        assert_eq!(check_digits("GB", "NWBK60161331926819").as_deref(), Some("29"));
        // Mod 97 alone is not enough: the length must be the country's (DE: 22), and the country must
        // have IBANs (US has none).
        let short = format!("DE{}3704004405320130", check_digits("DE", "3704004405320130").unwrap());
        assert!(!is_valid(&short), "{short}");
        let us = format!("US{}370400440532013000", check_digits("US", "370400440532013000").unwrap());
        assert!(!is_valid(&us), "{us}");
        assert_eq!((iban_length("NO"), iban_length("LC"), iban_length("US")), (Some(15), Some(32), None));
    }
}
