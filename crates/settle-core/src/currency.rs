//! ISO 4217 currencies with their minor units.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::currency_table::TABLE;

/// An ISO 4217 currency, active (List One) or historic (List Three).
///
/// A `Currency` is an index into a static table sorted by code, so it is `Copy`, four bytes wide at most,
/// and orders by its alphabetic code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency(u16);

/// The currency code was not found in ISO 4217 List One or List Three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown currency code {code:?}: expected an ISO 4217 alphabetic code such as EUR, USD or JPY")]
pub struct UnknownCurrency {
    /// The text that was read.
    pub code: String,
}

impl Currency {
    /// Looks up an alphabetic code, exactly as ISO writes it (three upper-case letters).
    pub fn from_code(code: &str) -> Result<Currency, UnknownCurrency> {
        match TABLE.binary_search_by(|row| row.0.cmp(code)) {
            Ok(index) => Ok(Currency(u16::try_from(index).expect("table has fewer than 2^16 rows"))),
            Err(_) => Err(UnknownCurrency { code: code.to_string() }),
        }
    }

    /// Looks up a code case-insensitively (channels such as Stripe write `eur`).
    pub fn from_code_ignore_case(code: &str) -> Result<Currency, UnknownCurrency> {
        if code.len() == 3 && code.is_ascii() {
            let b = code.as_bytes();
            let upper = [b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase(), b[2].to_ascii_uppercase()];
            Currency::from_code(std::str::from_utf8(&upper).expect("ASCII stays ASCII"))
        } else {
            Err(UnknownCurrency { code: code.to_string() })
        }
    }

    fn row(self) -> &'static crate::currency_table::Row {
        &TABLE[usize::from(self.0)]
    }

    /// The alphabetic code, e.g. `"EUR"`.
    pub fn code(self) -> &'static str {
        self.row().0
    }

    /// The ISO 4217 numeric code, e.g. 978 for EUR.
    pub fn numeric(self) -> u16 {
        self.row().1
    }

    /// Minor units (decimal places); `None` for codes where ISO says "N.A." (XAU, XDR, XXX, …).
    pub fn minor_units(self) -> Option<u8> {
        self.row().2
    }

    /// Whether the code is in List One (current). Historic codes stay usable for historic batches.
    pub fn is_active(self) -> bool {
        self.row().3
    }

    /// The currency's position in the ISO 4217 table (code order), below `Currency::count()`: for dense
    /// per-currency arrays.
    pub fn ordinal(self) -> usize {
        usize::from(self.0)
    }

    /// How many currencies the table has.
    pub fn count() -> usize {
        TABLE.len()
    }

    /// Every currency in the table, in code order.
    pub fn all() -> impl Iterator<Item = Currency> {
        (0..TABLE.len()).map(|i| Currency(u16::try_from(i).expect("small table")))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Currency {
    type Err = UnknownCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Currency::from_code(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Currency {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Currency".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[A-Z]{3}$",
            "description": "ISO 4217 alphabetic currency code (List One, or List Three for historic batches)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in TABLE.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} must sort before {}", pair[0].0, pair[1].0);
        }
        for row in TABLE {
            assert_eq!(row.0.len(), 3);
            assert!(row.0.bytes().all(|b| b.is_ascii_uppercase()), "{}", row.0);
        }
    }

    #[test]
    fn minor_units_of_the_awkward_ones() {
        let units = |c: &str| Currency::from_code(c).unwrap().minor_units();
        assert_eq!(units("JPY"), Some(0));
        assert_eq!(units("KRW"), Some(0));
        for c in ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"] {
            assert_eq!(units(c), Some(3), "{c}");
        }
        assert_eq!(units("CLF"), Some(4));
        assert_eq!(units("EUR"), Some(2));
        assert_eq!(units("XAU"), None);
    }

    #[test]
    fn historic_codes_are_usable_but_marked() {
        for c in ["HRK", "BGN", "DEM", "LTL"] {
            let cur = Currency::from_code(c).unwrap();
            assert!(!cur.is_active(), "{c}");
            assert_eq!(cur.minor_units(), Some(2));
        }
        assert!(Currency::from_code("EUR").unwrap().is_active());
    }

    #[test]
    fn unknown_codes_are_errors() {
        for c in ["", "EU", "EURO", "eur", "ABC", "ZZZ"] {
            let err = Currency::from_code(c).unwrap_err();
            assert!(err.to_string().contains("unknown currency code"), "{err}");
        }
        assert_eq!(Currency::from_code_ignore_case("eur").unwrap().code(), "EUR");
        assert!(Currency::from_code_ignore_case("é€").is_err());
    }

    #[test]
    fn orders_by_code_and_round_trips_serde() {
        let eur = Currency::from_code("EUR").unwrap();
        let usd = Currency::from_code("USD").unwrap();
        assert!(eur < usd);
        assert_eq!(eur.numeric(), 978);
        let json = serde_json::to_string(&eur).unwrap();
        assert_eq!(json, "\"EUR\"");
        let back: Currency = serde_json::from_str(&json).unwrap();
        assert_eq!(back, eur);
        assert!(serde_json::from_str::<Currency>("\"QQQ\"").is_err());
        assert!(Currency::all().count() > 170);
    }
}
