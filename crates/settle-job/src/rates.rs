//! Rate files, told apart by content: the ECB's history CSV, daily CSV and XML feeds (`settle_fx::ecb`),
//! or settle's generic `date,base,quote,rate,source` CSV (`settle_tabular::read_rates`).

use settle_core::Rate;

/// A rate file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RateFileError {
    #[error("{0}")]
    Ecb(#[from] settle_fx::ecb::RateFileError),
    #[error("{0}")]
    Generic(#[from] settle_tabular::TabularError),
}

/// The rates of a file and the name of its layout (`ecb-history-csv`, `ecb-daily-csv`, `ecb-xml`,
/// `generic-csv`).
pub fn read_rate_file(name: &str, bytes: &[u8]) -> Result<(Vec<Rate>, &'static str), RateFileError> {
    if settle_fx::ecb::sniff(bytes).is_some() {
        let file = settle_fx::ecb::read_ecb(name, bytes)?;
        return Ok((file.rates, file.format.as_str()));
    }
    Ok((settle_tabular::read_rates(name, bytes)?, "generic-csv"))
}
