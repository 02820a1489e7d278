//! ISO 4217 currency table.
//!
//! Source: ISO 4217 List One (current currencies, as maintained by SIX Financial Information on behalf of
//! ISO, amendments up to and including the 2025 introduction of XCG) and List Three (historic
//! denominations) for codes that historic batches still carry. Minor units are the "Minor unit"
//! column of those lists; `None` stands for "N.A." (precious metals, SDR, bond-market units,
//! test and no-currency codes), which have no minor unit and cannot be rounded to one.
//!
//! The table is sorted by code: `Currency` stores an index into it, so index order is code order
//! (a unit test asserts the sort).

/// (alphabetic code, numeric code, minor units, active in List One)
pub(crate) type Row = (&'static str, u16, Option<u8>, bool);

pub(crate) const TABLE: &[Row] = &[
    ("ADP", 20, Some(0), false), // Andorran peseta, withdrawn 2003
    ("AED", 784, Some(2), true),
    ("AFN", 971, Some(2), true),
    ("ALL", 8, Some(2), true),
    ("AMD", 51, Some(2), true),
    ("ANG", 532, Some(2), false), // Netherlands Antillean guilder, replaced by XCG 2025-03-31
    ("AOA", 973, Some(2), true),
    ("ARS", 32, Some(2), true),
    ("ATS", 40, Some(2), false), // Austrian schilling, euro 2002
    ("AUD", 36, Some(2), true),
    ("AWG", 533, Some(2), true),
    ("AZN", 944, Some(2), true),
    ("BAM", 977, Some(2), true),
    ("BBD", 52, Some(2), true),
    ("BDT", 50, Some(2), true),
    ("BEF", 56, Some(0), false),  // Belgian franc, euro 2002
    ("BGN", 975, Some(2), false), // Bulgarian lev, euro 2026-01-01
    ("BHD", 48, Some(3), true),
    ("BIF", 108, Some(0), true),
    ("BMD", 60, Some(2), true),
    ("BND", 96, Some(2), true),
    ("BOB", 68, Some(2), true),
    ("BOV", 984, Some(2), true),
    ("BRL", 986, Some(2), true),
    ("BSD", 44, Some(2), true),
    ("BTN", 64, Some(2), true),
    ("BWP", 72, Some(2), true),
    ("BYN", 933, Some(2), true),
    ("BYR", 974, Some(0), false), // Belarusian ruble, redenominated 2016
    ("BZD", 84, Some(2), true),
    ("CAD", 124, Some(2), true),
    ("CDF", 976, Some(2), true),
    ("CHE", 947, Some(2), true),
    ("CHF", 756, Some(2), true),
    ("CHW", 948, Some(2), true),
    ("CLF", 990, Some(4), true),
    ("CLP", 152, Some(0), true),
    ("CNY", 156, Some(2), true),
    ("COP", 170, Some(2), true),
    ("COU", 970, Some(2), true),
    ("CRC", 188, Some(2), true),
    ("CUC", 931, Some(2), false), // Cuban convertible peso, withdrawn 2021
    ("CUP", 192, Some(2), true),
    ("CVE", 132, Some(2), true),
    ("CYP", 196, Some(2), false), // Cyprus pound, euro 2008
    ("CZK", 203, Some(2), true),
    ("DEM", 276, Some(2), false), // Deutsche Mark, euro 2002
    ("DJF", 262, Some(0), true),
    ("DKK", 208, Some(2), true),
    ("DOP", 214, Some(2), true),
    ("DZD", 12, Some(2), true),
    ("EEK", 233, Some(2), false), // Estonian kroon, euro 2011
    ("EGP", 818, Some(2), true),
    ("ERN", 232, Some(2), true),
    ("ESP", 724, Some(0), false), // Spanish peseta, euro 2002
    ("ETB", 230, Some(2), true),
    ("EUR", 978, Some(2), true),
    ("FIM", 246, Some(2), false), // Finnish markka, euro 2002
    ("FJD", 242, Some(2), true),
    ("FKP", 238, Some(2), true),
    ("FRF", 250, Some(2), false), // French franc, euro 2002
    ("GBP", 826, Some(2), true),
    ("GEL", 981, Some(2), true),
    ("GHC", 288, Some(2), false), // Ghanaian cedi, redenominated 2007
    ("GHS", 936, Some(2), true),
    ("GIP", 292, Some(2), true),
    ("GMD", 270, Some(2), true),
    ("GNF", 324, Some(0), true),
    ("GRD", 300, Some(0), false), // Greek drachma, euro 2002
    ("GTQ", 320, Some(2), true),
    ("GYD", 328, Some(2), true),
    ("HKD", 344, Some(2), true),
    ("HNL", 340, Some(2), true),
    ("HRK", 191, Some(2), false), // Croatian kuna, euro 2023-01-01
    ("HTG", 332, Some(2), true),
    ("HUF", 348, Some(2), true),
    ("IDR", 360, Some(2), true),
    ("IEP", 372, Some(2), false), // Irish pound, euro 2002
    ("ILS", 376, Some(2), true),
    ("INR", 356, Some(2), true),
    ("IQD", 368, Some(3), true),
    ("IRR", 364, Some(2), true),
    ("ISK", 352, Some(0), true),
    ("ITL", 380, Some(0), false), // Italian lira, euro 2002
    ("JMD", 388, Some(2), true),
    ("JOD", 400, Some(3), true),
    ("JPY", 392, Some(0), true),
    ("KES", 404, Some(2), true),
    ("KGS", 417, Some(2), true),
    ("KHR", 116, Some(2), true),
    ("KMF", 174, Some(0), true),
    ("KPW", 408, Some(2), true),
    ("KRW", 410, Some(0), true),
    ("KWD", 414, Some(3), true),
    ("KYD", 136, Some(2), true),
    ("KZT", 398, Some(2), true),
    ("LAK", 418, Some(2), true),
    ("LBP", 422, Some(2), true),
    ("LKR", 144, Some(2), true),
    ("LRD", 430, Some(2), true),
    ("LSL", 426, Some(2), true),
    ("LTL", 440, Some(2), false), // Lithuanian litas, euro 2015
    ("LUF", 442, Some(0), false), // Luxembourg franc, euro 2002
    ("LVL", 428, Some(2), false), // Latvian lats, euro 2014
    ("LYD", 434, Some(3), true),
    ("MAD", 504, Some(2), true),
    ("MDL", 498, Some(2), true),
    ("MGA", 969, Some(2), true),
    ("MKD", 807, Some(2), true),
    ("MMK", 104, Some(2), true),
    ("MNT", 496, Some(2), true),
    ("MOP", 446, Some(2), true),
    ("MRO", 478, Some(2), false), // Mauritanian ouguiya, redenominated 2018
    ("MRU", 929, Some(2), true),
    ("MTL", 470, Some(2), false), // Maltese lira, euro 2008
    ("MUR", 480, Some(2), true),
    ("MVR", 462, Some(2), true),
    ("MWK", 454, Some(2), true),
    ("MXN", 484, Some(2), true),
    ("MXV", 979, Some(2), true),
    ("MYR", 458, Some(2), true),
    ("MZN", 943, Some(2), true),
    ("NAD", 516, Some(2), true),
    ("NGN", 566, Some(2), true),
    ("NIO", 558, Some(2), true),
    ("NLG", 528, Some(2), false), // Dutch guilder, euro 2002
    ("NOK", 578, Some(2), true),
    ("NPR", 524, Some(2), true),
    ("NZD", 554, Some(2), true),
    ("OMR", 512, Some(3), true),
    ("PAB", 590, Some(2), true),
    ("PEN", 604, Some(2), true),
    ("PGK", 598, Some(2), true),
    ("PHP", 608, Some(2), true),
    ("PKR", 586, Some(2), true),
    ("PLN", 985, Some(2), true),
    ("PTE", 620, Some(0), false), // Portuguese escudo, euro 2002
    ("PYG", 600, Some(0), true),
    ("QAR", 634, Some(2), true),
    ("RON", 946, Some(2), true),
    ("RSD", 941, Some(2), true),
    ("RUB", 643, Some(2), true),
    ("RWF", 646, Some(0), true),
    ("SAR", 682, Some(2), true),
    ("SBD", 90, Some(2), true),
    ("SCR", 690, Some(2), true),
    ("SDG", 938, Some(2), true),
    ("SEK", 752, Some(2), true),
    ("SGD", 702, Some(2), true),
    ("SHP", 654, Some(2), true),
    ("SIT", 705, Some(2), false), // Slovenian tolar, euro 2007
    ("SKK", 703, Some(2), false), // Slovak koruna, euro 2009
    ("SLE", 925, Some(2), true),
    ("SLL", 694, Some(2), false), // Sierra Leonean leone (old), replaced by SLE
    ("SOS", 706, Some(2), true),
    ("SRD", 968, Some(2), true),
    ("SSP", 728, Some(2), true),
    ("STD", 678, Some(2), false), // Sao Tome dobra, redenominated 2018
    ("STN", 930, Some(2), true),
    ("SVC", 222, Some(2), true),
    ("SYP", 760, Some(2), true),
    ("SZL", 748, Some(2), true),
    ("THB", 764, Some(2), true),
    ("TJS", 972, Some(2), true),
    ("TMT", 934, Some(2), true),
    ("TND", 788, Some(3), true),
    ("TOP", 776, Some(2), true),
    ("TRL", 792, Some(0), false), // Turkish lira (old), redenominated 2005
    ("TRY", 949, Some(2), true),
    ("TTD", 780, Some(2), true),
    ("TWD", 901, Some(2), true),
    ("TZS", 834, Some(2), true),
    ("UAH", 980, Some(2), true),
    ("UGX", 800, Some(0), true),
    ("USD", 840, Some(2), true),
    ("USN", 997, Some(2), true),
    ("UYI", 940, Some(0), true),
    ("UYU", 858, Some(2), true),
    ("UYW", 927, Some(4), true),
    ("UZS", 860, Some(2), true),
    ("VED", 926, Some(2), true),
    ("VEF", 937, Some(2), false), // Venezuelan bolivar fuerte, redenominated 2018
    ("VES", 928, Some(2), true),
    ("VND", 704, Some(0), true),
    ("VUV", 548, Some(0), true),
    ("WST", 882, Some(2), true),
    ("XAF", 950, Some(0), true),
    ("XAG", 961, None, true),
    ("XAU", 959, None, true),
    ("XBA", 955, None, true),
    ("XBB", 956, None, true),
    ("XBC", 957, None, true),
    ("XBD", 958, None, true),
    ("XCD", 951, Some(2), true),
    ("XCG", 532, Some(2), true),
    ("XDR", 960, None, true),
    ("XOF", 952, Some(0), true),
    ("XPD", 964, None, true),
    ("XPF", 953, Some(0), true),
    ("XPT", 962, None, true),
    ("XSU", 994, None, true),
    ("XTS", 963, None, true),
    ("XUA", 965, None, true),
    ("XXX", 999, None, true),
    ("YER", 886, Some(2), true),
    ("ZAR", 710, Some(2), true),
    ("ZMK", 894, Some(2), false), // Zambian kwacha (old), redenominated 2013
    ("ZMW", 967, Some(2), true),
    ("ZWG", 924, Some(2), true),
    ("ZWL", 932, Some(2), false), // Zimbabwe dollar, replaced by ZWG 2024
];
