//! SMS text: GSM-7-safe ASCII of at most 160 characters, so one message is one SMS on every
//! network and phone.

use crate::ascii::fold_to_ascii;

/// The most characters in one SMS of the GSM 7-bit alphabet.
pub const SMS_MAX_CHARS: usize = 160;

/// True for an ASCII character of the GSM 03.38 basic set (one septet, the same on every
/// phone). `[ ] { } \ ^ ~ |` need an escape septet and the backtick is missing, so they are
/// not safe.
pub fn is_gsm_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ' ' || c == '\n' || "!\"#$%&'()*+,-./:;<=>?@_".contains(c)
}

/// `s` in GSM-safe ASCII: accents folded (see [`fold_to_ascii`]), brackets and the like
/// replaced by their nearest safe character, other whitespace by a space, anything else by
/// '?'.
pub fn gsm_text(s: &str) -> String {
    fold_to_ascii(s)
        .chars()
        .map(|c| match c {
            c if is_gsm_safe(c) => c,
            '[' | '{' => '(',
            ']' | '}' => ')',
            '\\' | '|' => '/',
            '~' => '-',
            '`' => '\'',
            c if c.is_whitespace() || c == '^' => ' ',
            _ => '?',
        })
        .collect()
}

/// `s` cut to at most `max` characters, ending with "..." when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let kept: String = s.chars().take(max.saturating_sub(3)).collect();
    let mut out = kept.trim_end().to_owned();
    out.push_str(&"..."[..max.min(3)]);
    out
}

/// Longest tontine or member name kept in an SMS, so the figures around it always fit.
pub const SMS_NAME_CHARS: usize = 30;

/// A name to embed in an SMS: GSM-safe, trimmed, at most [`SMS_NAME_CHARS`] characters.
pub fn short_name(name: &str) -> String {
    truncate(gsm_text(name).trim(), SMS_NAME_CHARS)
}

/// A complete SMS: GSM-safe and at most [`SMS_MAX_CHARS`] characters.
pub fn fit_sms(s: &str) -> String {
    truncate(gsm_text(s).trim(), SMS_MAX_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accents_fold_and_unsafe_characters_are_replaced() {
        assert_eq!(
            gsm_text("Tontine « Épargne » [2026]"),
            "Tontine \"Epargne\" (2026)"
        );
        assert_eq!(gsm_text("a\tb~c|d`e^f"), "a b-c/d'e f");
        assert_eq!(gsm_text("ߒߞߏ🙂"), "????");
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdefg", 6), "abc...");
        assert_eq!(truncate("ab   efg", 6), "ab...");
        assert_eq!(truncate("abcdefg", 2), "..");
        assert_eq!(short_name("  Ndèye  "), "Ndeye");
        assert_eq!(short_name(&"x".repeat(40)).len(), SMS_NAME_CHARS);
    }

    proptest! {
        #[test]
        fn fit_sms_is_gsm_safe_and_short(s in any::<String>()) {
            let sms = fit_sms(&s);
            prop_assert!(sms.chars().count() <= SMS_MAX_CHARS);
            prop_assert!(sms.chars().all(is_gsm_safe), "{sms:?}");
        }

        #[test]
        fn truncate_respects_any_bound(s in ".{0,40}", max in 0usize..50) {
            prop_assert!(truncate(&s, max).chars().count() <= max);
        }
    }
}
