//! `parse_decimal_input`: the strict reader of decimal numbers typed by users or sent in JSON.

use rust_decimal::Decimal;

use super::MoneyError;

/// Reads a plain decimal number: optional leading '-', digits, optionally '.' and digits.
///
/// Used for JSON numbers and strings alike. Refuses exponents, `NaN`, empty input, spaces
/// inside and thousands separators; the sign is checked later by [`Amount::new`](super::Amount::new).
pub fn parse_decimal_input(s: &str) -> Result<Decimal, MoneyError> {
    let s = s.trim();
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((int_part, frac_part)) => (int_part, Some(frac_part)),
        None => (unsigned, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || !frac_part.is_none_or(all_digits) {
        return Err(MoneyError::Invalid);
    }
    // `from_str_exact` refuses values it would have to round (too many digits).
    Decimal::from_str_exact(s).map_err(|_| MoneyError::Invalid)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimal_input_accepts_plain_numbers() {
        assert_eq!(parse_decimal_input("5000").unwrap(), Decimal::from(5000));
        assert_eq!(
            parse_decimal_input(" 2500.50 ").unwrap().to_string(),
            "2500.50"
        );
        assert_eq!(parse_decimal_input("-3").unwrap(), Decimal::from(-3));
    }

    #[test]
    fn decimal_input_refuses_garbage() {
        for s in [
            "", " ", "1e3", "1E3", "NaN", "inf", "1 000", "1,000", "1_000", "+5", ".5", "5.",
            "--5", "5-", "0x10", "1.2.3", "- 5", "١٢",
        ] {
            assert_eq!(parse_decimal_input(s), Err(MoneyError::Invalid), "{s:?}");
        }
    }

    #[test]
    fn decimal_input_refuses_values_that_would_round() {
        let long = format!("0.{}1", "0".repeat(30));
        assert_eq!(parse_decimal_input(&long), Err(MoneyError::Invalid));
        assert_eq!(
            parse_decimal_input(&"9".repeat(40)),
            Err(MoneyError::Invalid)
        );
    }

    proptest! {
        #[test]
        fn plain_decimals_round_trip(int in "-?[0-9]{1,12}", frac in proptest::option::of("[0-9]{1,8}")) {
            let s = match &frac {
                Some(f) => format!("{int}.{f}"),
                None => int.clone(),
            };
            let d = parse_decimal_input(&s).unwrap();
            prop_assert_eq!(d, s.parse::<Decimal>().unwrap());
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = parse_decimal_input(&s);
        }
    }
}
