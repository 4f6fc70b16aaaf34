//! The currencies a client may name: ISO 4217's active codes for money in
//! circulation (funds, precious metals, test and "no currency" codes left
//! out), sorted so a lookup is a binary search. Codes a country has retired
//! are kept while they may still sit in stored expenses (`ANG`, `SLL`, `ZWL`).

const CODES: [&str; 159] = [
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
    "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU",
    "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR",
    "ZMW", "ZWG", "ZWL",
];

/// Whether `code` (three upper-case letters) is a known currency.
pub fn is_known(code: &[u8; 3]) -> bool {
    CODES
        .binary_search_by(|c| c.as_bytes().cmp(&code[..]))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_unique_and_upper_case() {
        assert!(CODES.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        assert!(CODES
            .iter()
            .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn known_and_unknown_codes() {
        for code in [b"USD", b"EUR", b"JPY", b"KWD", b"AED", b"ZWL", b"INR"] {
            assert!(is_known(code), "{}", String::from_utf8_lossy(code));
        }
        for code in [b"ABC", b"XXX", b"XAU", b"QQQ", b"USE", b"AAA", b"ZZZ"] {
            assert!(!is_known(code), "{}", String::from_utf8_lossy(code));
        }
    }
}
