//! How an SMS text is encoded and how many segments it costs.
//!
//! A text entirely in the GSM 03.38 alphabet (basic table, plus the extension table whose
//! characters cost two septets) goes as GSM-7: 160 septets in one segment, 153 per segment
//! when concatenated. Any other character forces UCS-2 for the whole message: 70 UTF-16 units
//! in one segment, 67 per segment when concatenated.
//!
//! For French: `é è à ù É Ç` are in the basic table; `ê â ô î û ç ë ï œ «»` and the
//! apostrophe `’` are not, and one of them turns a 160-character SMS into three. Kobiri's
//! SMS texts are therefore the GSM-7-safe variants core's templates render (accents folded
//! to ASCII, see `kobiri_core::notification::sms`), which these checks confirm.

/// The GSM 03.38 basic character set (one septet each).
const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: an escape septet plus one.
const EXTENSION: &str = "\u{c}^{}\\[~]|€";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// The encoding of a text, its length in that encoding's units, and its segment count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsSize {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    pub segments: usize,
}

/// Septets `c` takes in GSM-7, or `None` when it is outside the alphabet.
pub fn gsm7_septets(c: char) -> Option<usize> {
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Whether the whole text goes as GSM-7.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm7_septets(c).is_some())
}

/// How `text` is encoded and how many segments it costs (an empty text is one segment).
pub fn sms_size(text: &str) -> SmsSize {
    let septets: Option<usize> = text.chars().map(gsm7_septets).sum();
    let (encoding, units, single, multi) = match septets {
        Some(n) => (Encoding::Gsm7, n, 160, 153),
        None => (Encoding::Ucs2, text.encode_utf16().count(), 70, 67),
    };
    let segments = if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    SmsSize {
        encoding,
        units,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ascii_is_gsm7_up_to_160_in_one_segment() {
        let text = "a".repeat(160);
        assert_eq!(
            sms_size(&text),
            SmsSize {
                encoding: Encoding::Gsm7,
                units: 160,
                segments: 1
            }
        );
        assert_eq!(sms_size(&"a".repeat(161)).segments, 2);
        assert_eq!(sms_size(&"a".repeat(306)).segments, 2);
        assert_eq!(sms_size(&"a".repeat(307)).segments, 3);
        assert_eq!(sms_size("").segments, 1);
    }

    #[test]
    fn some_french_accents_are_gsm7_others_force_ucs2() {
        assert!(is_gsm7("Réglé à la fin du mois, Ça va"));
        assert!(!is_gsm7("Fête"));
        assert!(!is_gsm7("français"));
        let size = sms_size(&format!("{} ô", "a".repeat(70)));
        assert_eq!(size.encoding, Encoding::Ucs2);
        assert_eq!((size.units, size.segments), (72, 2));
        assert_eq!(sms_size(&"ê".repeat(70)).segments, 1);
    }

    #[test]
    fn extension_characters_cost_two_septets() {
        let size = sms_size("5000 € [ok]");
        assert_eq!(size.encoding, Encoding::Gsm7);
        assert_eq!(size.units, 14);
        assert_eq!(sms_size(&"€".repeat(80)).segments, 1);
        assert_eq!(sms_size(&"€".repeat(81)).segments, 2);
    }
}
