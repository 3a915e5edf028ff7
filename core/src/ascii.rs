//! ASCII folding: Latin letters with diacritics and typographic punctuation to plain ASCII,
//! for SMS texts and name sort keys.

/// Replaces the letters with diacritics of French and of the Latin alphabets of West African
/// languages (Wolof, Bambara, Fula…) and typographic punctuation with their plain ASCII
/// equivalents ("Ndèye" → "Ndeye", "ɓ" → "b", "« Tontine »" → "\"Tontine\""). Other
/// characters are kept as they are.
pub fn fold_to_ascii(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c.is_whitespace() && hugs_a_guillemet(&chars, i) {
            continue;
        }
        match fold_char(c) {
            Some(folded) => out.push_str(folded),
            None => out.push(c),
        }
    }
    out
}

/// True for the space French puts inside guillemets ("« x »"), which plain quotes do without.
fn hugs_a_guillemet(chars: &[char], i: usize) -> bool {
    let after_opening = i > 0 && chars.get(i - 1) == Some(&'«');
    let before_closing = chars.get(i + 1) == Some(&'»');
    after_opening || before_closing
}

/// The ASCII replacement of `c`, or `None` when `c` is ASCII or has no known equivalent.
fn fold_char(c: char) -> Option<&'static str> {
    if c.is_ascii() {
        return None;
    }
    fold_letter(c).or_else(|| fold_punctuation(c))
}

fn fold_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' | 'Ā' => "A",
        'æ' => "ae",
        'Æ' => "AE",
        'ç' => "c",
        'Ç' => "C",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ɛ' | 'ə' => "e",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ɛ' | 'Ə' => "E",
        'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' => "I",
        'ñ' | 'ŋ' | 'ɲ' => "n",
        'Ñ' | 'Ŋ' | 'Ɲ' => "N",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ɔ' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō' | 'Ɔ' => "O",
        'œ' => "oe",
        'Œ' => "OE",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' => "U",
        'ý' | 'ÿ' | 'ƴ' => "y",
        'Ý' | 'Ÿ' | 'Ƴ' => "Y",
        'ɓ' => "b",
        'Ɓ' => "B",
        'ɗ' => "d",
        'Ɗ' => "D",
        'ƙ' => "k",
        'Ƙ' => "K",
        'ß' => "ss",
        _ => return None,
    })
}

fn fold_punctuation(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{a0}' | '\u{202f}' | '\u{2009}' => " ",
        '‘' | '’' | '‚' | '′' => "'",
        '“' | '”' | '„' | '«' | '»' => "\"",
        '‐' | '‑' | '–' | '—' | '−' => "-",
        '…' => "...",
        '°' => "o",
        '€' => "EUR",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn french_and_west_african_letters_fold() {
        assert_eq!(fold_to_ascii("Ndèye Fatou Diéye"), "Ndeye Fatou Dieye");
        assert_eq!(fold_to_ascii("Ɓuuba Ŋoor, ɗaɓɓa"), "Buuba Noor, dabba");
        assert_eq!(
            fold_to_ascii("Cœur « Épargne » – n°3…"),
            "Coeur \"Epargne\" - no3..."
        );
        assert_eq!(fold_to_ascii("5\u{202f}000\u{a0}€"), "5 000 EUR");
    }

    #[test]
    fn unknown_characters_are_kept() {
        assert_eq!(fold_to_ascii("ߒߞߏ 🙂"), "ߒߞߏ 🙂");
    }

    proptest! {
        #[test]
        fn ascii_is_unchanged(s in "[ -~]{0,50}") {
            prop_assert_eq!(fold_to_ascii(&s), s);
        }
    }
}
