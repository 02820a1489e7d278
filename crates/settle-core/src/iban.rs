//! IBAN check (ISO 13616): shape and mod-97 check digits.

/// Whether `iban` (no spaces, upper case) has a country code, two check digits, a BBAN of 11 to 30
/// letters and digits, and passes the mod-97 check.
pub fn is_valid(iban: &str) -> bool {
    let bytes = iban.as_bytes();
    if bytes.len() < 15 || bytes.len() > 34 {
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
    }
}
