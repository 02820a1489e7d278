//! The generated marketplace: its currencies, channels, bank accounts and beneficiaries.

use settle_core::{Currency, Date, Decimal};

use crate::rng::Rng;

pub struct CurrencySpec {
    pub code: &'static str,
    pub weight: u64,
    /// Order amounts in minor units, inclusive.
    pub min_minor: i64,
    pub max_minor: i64,
    /// 1 EUR = this, on the first generated day (mantissa, scale).
    pub eur_rate: (i64, u32),
    /// Decimal places the publisher quotes.
    pub rate_dp: u32,
    pub rate_source: &'static str,
}

impl CurrencySpec {
    pub fn currency(&self) -> Currency {
        Currency::from_code(self.code).expect("world currencies are ISO 4217")
    }
    pub fn eur_rate(&self) -> Decimal {
        Decimal::new(self.eur_rate.0, self.eur_rate.1)
    }
}

/// Presentment currencies of the marketplace's customers. KWD has three minor units, JPY none.
pub const CURRENCIES: [CurrencySpec; 7] = [
    CurrencySpec {
        code: "EUR",
        weight: 38,
        min_minor: 500,
        max_minor: 45_000,
        eur_rate: (1, 0),
        rate_dp: 0,
        rate_source: "ECB",
    },
    CurrencySpec {
        code: "USD",
        weight: 20,
        min_minor: 500,
        max_minor: 60_000,
        eur_rate: (10_862, 4),
        rate_dp: 4,
        rate_source: "ECB",
    },
    CurrencySpec {
        code: "GBP",
        weight: 12,
        min_minor: 400,
        max_minor: 40_000,
        eur_rate: (8_431, 4),
        rate_dp: 4,
        rate_source: "ECB",
    },
    CurrencySpec {
        code: "JPY",
        weight: 10,
        min_minor: 600,
        max_minor: 68_000,
        eur_rate: (16_417, 2),
        rate_dp: 2,
        rate_source: "ECB",
    },
    CurrencySpec {
        code: "SEK",
        weight: 8,
        min_minor: 5_000,
        max_minor: 480_000,
        eur_rate: (114_820, 4),
        rate_dp: 4,
        rate_source: "ECB",
    },
    CurrencySpec {
        code: "CHF",
        weight: 7,
        min_minor: 500,
        max_minor: 42_000,
        eur_rate: (9_402, 4),
        rate_dp: 4,
        rate_source: "ECB",
    },
    CurrencySpec {
        code: "KWD",
        weight: 5,
        min_minor: 1_500,
        max_minor: 140_000,
        eur_rate: (33_312, 5),
        rate_dp: 5,
        rate_source: "CBK",
    },
];

pub struct Channel {
    pub name: &'static str,
    pub weight: u64,
    settlement: &'static str,
    /// Our bank account the channel pays out to.
    pub account: &'static str,
    pub payer_name: &'static str,
    pub remittance_prefix: &'static str,
    /// Percentage fee (scale 4: 140 = 1.40 %) and fixed fee in minor units of the settlement currency.
    fee_rate_bp100: i64,
    fee_fixed_minor: i64,
    fx_markup_bp100: i64,
    dispute_fee_minor: i64,
    monthly_fee_minor: i64,
    /// What our bank deducts from an incoming payout when it does.
    bank_fee_minor: i64,
}

impl Channel {
    pub fn settlement_currency(&self) -> Currency {
        Currency::from_code(self.settlement).expect("ISO 4217")
    }
    pub fn fee_rate(&self) -> Decimal {
        Decimal::new(self.fee_rate_bp100, 4)
    }
    pub fn fee_fixed(&self) -> Decimal {
        Decimal::new(self.fee_fixed_minor, 2)
    }
    pub fn fx_markup(&self) -> Decimal {
        Decimal::new(self.fx_markup_bp100, 4)
    }
    pub fn dispute_fee(&self) -> Decimal {
        Decimal::new(self.dispute_fee_minor, 2)
    }
    pub fn monthly_fee(&self) -> Decimal {
        Decimal::new(self.monthly_fee_minor, 2)
    }
    pub fn bank_fee(&self) -> Decimal {
        Decimal::new(self.bank_fee_minor, 2)
    }

    /// The channel's payout id for a booking date: derived from the seed, channel and date only.
    /// The payout batch of merchant account `account` (0-based) booked on `date`: unique per channel,
    /// account and day. Adyen numbers batches per merchant account; the generator keeps the numbers of
    /// different accounts apart (account × 10 000) so a bank credit's batch number names one batch.
    pub fn batch_id(&self, seed: u64, date: Date, account: u64) -> String {
        let days = u64::try_from(date.since(Date::constant(2000, 1, 1)).expect("span").get_days()).unwrap_or(0);
        let stream = days
            .wrapping_mul(31)
            .wrapping_add(u64::from(self.name.as_bytes()[0]))
            .wrapping_add(account.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut rng = Rng::new(seed).fork(stream);
        match self.name {
            "stripe" => format!("po_1{}", rng.hex(23)),
            _ => format!("{}", 4_000 + days % 5_000 + account * 10_000),
        }
    }

    /// The id the channel's report gives the row: Stripe's balance transaction, Adyen's modification
    /// (PSP) reference.
    pub fn transaction_id(&self, rng: &mut Rng) -> String {
        match self.name {
            "stripe" => format!("txn_3{}", rng.hex(23)),
            _ => rng.digits(16),
        }
    }

    /// The payment the row belongs to: Stripe's charge (`source_id`), Adyen's payment PSP reference.
    pub fn payment_reference(&self, rng: &mut Rng) -> String {
        match self.name {
            "stripe" => format!("ch_3{}", rng.hex(23)),
            _ => rng.digits(16),
        }
    }
}

pub const CHANNELS: [Channel; 2] = [
    Channel {
        name: "stripe",
        weight: 60,
        settlement: "EUR",
        account: "DE44500105175407324931",
        payer_name: "STRIPE PAYMENTS EUROPE LTD",
        remittance_prefix: "STRIPE PAYOUT",
        fee_rate_bp100: 140,
        fee_fixed_minor: 25,
        fx_markup_bp100: 200,
        dispute_fee_minor: 2_000,
        monthly_fee_minor: 1_240,
        bank_fee_minor: 250,
    },
    Channel {
        name: "adyen",
        weight: 40,
        settlement: "USD",
        account: "GB33BUKB20201555555555",
        payer_name: "ADYEN N.V.",
        remittance_prefix: "ADYEN SETTLEMENT BATCH",
        fee_rate_bp100: 60,
        fee_fixed_minor: 12,
        fx_markup_bp100: 120,
        dispute_fee_minor: 1_500,
        monthly_fee_minor: 2_500,
        bank_fee_minor: 1_500,
    },
];

pub const STRAY_PAYERS: [&str; 3] = ["NORDWIND LOGISTIK GMBH", "CAFE LUMIERE SARL", "J. VAN DAM"];

pub struct GeneratedBeneficiary {
    pub id: String,
    pub legal_name: String,
    pub country: &'static str,
    pub iban: String,
    pub bic: String,
    pub currency: &'static str,
    pub street: &'static str,
    pub building_number: String,
    pub post_code: String,
    pub town: &'static str,
    /// `daily`, or `weekly:fri` for every tenth beneficiary from the seventh.
    pub schedule: &'static str,
    /// (percent, release business days) for every tenth beneficiary from the second.
    pub reserve: Option<(&'static str, &'static str)>,
    /// The account the previous payout system last paid (paid_accounts.csv): another IBAN of its
    /// country for every fiftieth beneficiary from the third (its bank details changed since).
    pub paid_iban: String,
}

/// (country, towns, post code digits) for the generated addresses.
const TOWNS: [(&str, [&str; 3], usize); 10] = [
    ("DE", ["Berlin", "Hamburg", "Köln"], 5),
    ("FR", ["Paris", "Lyon", "Nantes"], 5),
    ("NL", ["Amsterdam", "Utrecht", "Delft"], 4),
    ("GB", ["London", "Leeds", "Bristol"], 0),
    ("CH", ["Zürich", "Basel", "Genève"], 4),
    ("SE", ["Stockholm", "Malmö", "Uppsala"], 5),
    ("ES", ["Madrid", "Sevilla", "Valencia"], 5),
    ("IT", ["Milano", "Torino", "Bologna"], 5),
    ("AT", ["Wien", "Graz", "Linz"], 4),
    ("KW", ["Kuwait City", "Hawalli", "Salmiya"], 5),
];

const STREETS: [&str; 6] =
    ["Market Street", "Harbour Road", "Station Square", "Mill Lane", "Park Avenue", "Bridge Street"];

/// (country, BBAN pattern: 'n' digit, 'a' letter, 'c' alphanumeric; legal form; payout currency; BIC)
const COUNTRIES: [(&str, &str, &str, &str, &str); 10] = [
    ("DE", "nnnnnnnnnnnnnnnnnn", "GmbH", "EUR", "COBADEFFXXX"),
    ("FR", "nnnnnnnnnncccccccccccnn", "SARL", "EUR", "BNPAFRPPXXX"),
    ("NL", "aaaannnnnnnnnn", "B.V.", "EUR", "ABNANL2A"),
    ("GB", "aaaannnnnnnnnnnnnn", "Ltd", "GBP", "BUKBGB22"),
    ("CH", "nnnnncccccccccccc", "AG", "CHF", "UBSWCHZH80A"),
    ("SE", "nnnnnnnnnnnnnnnnnnnn", "AB", "SEK", "ESSESESS"),
    ("ES", "nnnnnnnnnnnnnnnnnnnn", "S.L.", "EUR", "CAIXESBBXXX"),
    ("IT", "annnnnnnnnncccccccccccc", "S.r.l.", "EUR", "UNCRITMMXXX"),
    ("AT", "nnnnnnnnnnnnnnnn", "GmbH", "EUR", "BKAUATWW"),
    ("KW", "aaaacccccccccccccccccccccc", "W.L.L.", "KWD", "NBOKKWKW"),
];

const NAME_FIRST: [&str; 20] = [
    "Alpen",
    "Blue Cedar",
    "Corvid",
    "Delta",
    "Ember",
    "Fjord",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Maple",
    "Nova",
    "Orchid",
    "Pioneer",
    "Quartz",
    "Riviera",
    "Summit",
    "Tundra",
];
const NAME_SECOND: [&str; 10] =
    ["Goods", "Crafts", "Outfitters", "Trading", "Books", "Audio", "Ceramics", "Textiles", "Coffee", "Cycles"];

/// The `index`-th beneficiary: countries cycle so the first ten cover ten countries.
pub fn beneficiary_for(world: &Rng, index: u64) -> GeneratedBeneficiary {
    let mut rng = world.fork(0xBE_0000 + index);
    let (country, pattern, form, currency, bic) = COUNTRIES[usize::try_from(index % 10).expect("small")];
    let bban: String = pattern
        .chars()
        .map(|p| match p {
            'n' => rng.digits(1),
            'a' => rng.letters(1),
            _ => {
                if rng.chance(1, 2) {
                    rng.digits(1)
                } else {
                    rng.letters(1)
                }
            }
        })
        .collect();
    let check = settle_core::iban::check_digits(country, &bban).expect("valid BBAN shape");
    let first = NAME_FIRST[usize::try_from(rng.below(20)).expect("small")];
    let second = NAME_SECOND[usize::try_from(rng.below(10)).expect("small")];
    // Drawn after the name, so the ids, IBANs and names of earlier versions stay the same.
    let (_, towns, post_code_digits) = TOWNS[usize::try_from(index % 10).expect("small")];
    let town = towns[usize::try_from(rng.below(3)).expect("small")];
    let street = STREETS[usize::try_from(rng.below(6)).expect("small")];
    let building_number = format!("{}", rng.range(1, 200));
    let post_code = if post_code_digits == 0 {
        format!("{}{} {}{}", rng.letters(2), rng.digits(1), rng.digits(1), rng.letters(2))
    } else {
        rng.digits(post_code_digits)
    };
    // Drawn last, so everything above stays as earlier versions drew it.
    let paid_iban = if index % 50 == 2 {
        let bban: String = pattern
            .chars()
            .map(|p| match p {
                'a' => rng.letters(1),
                _ => rng.digits(1),
            })
            .collect();
        let check = settle_core::iban::check_digits(country, &bban).expect("valid BBAN shape");
        format!("{country}{check}{bban}")
    } else {
        format!("{country}{check}{bban}")
    };
    GeneratedBeneficiary {
        schedule: if index % 10 == 6 { "weekly:fri" } else { "daily" },
        reserve: (index % 10 == 1).then_some(("10", "5")),
        paid_iban,
        id: format!("B{:05}", index + 1),
        legal_name: format!("{first} {second} {form}"),
        country,
        iban: format!("{country}{check}{bban}"),
        bic: bic.to_string(),
        currency,
        street,
        building_number,
        post_code,
        town,
    }
}
