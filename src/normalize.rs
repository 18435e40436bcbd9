//! Stage 1: normalisation.
//!
//! Produces the text the later stages analyse (full-width → half-width, lower case,
//! traditional → simplified, control characters dropped) while keeping the
//! original (with personal data masked) and a map from every analysed character
//! back to the original character, so keyword offsets point into what the user
//! wrote. Emoji are kept deliberately: 👍 and 😡 carry the customer's judgement.
//!
//! The general path is the `tokenizers` crate's normalizer chain (NFKC, then
//! lowercase) over a `NormalizedString`, which tracks alignments through every
//! change. Most feedback needs only one-for-one character changes, so a fast path
//! does those directly and leaves the alignment as the identity.

use std::collections::HashMap;

use tokenizers::normalizers::{Lowercase, Sequence, NFKC};
use tokenizers::tokenizer::normalizer::Range;
use tokenizers::{NormalizedString, Normalizer as _};

use crate::error::{Error, Result};
use crate::pii;
use crate::resources;

/// The normalised form of one text.
#[derive(Debug, Clone)]
pub struct NormalizedText {
    /// The input as written, with personal data masked character for character
    /// (unless masking was switched off). Offsets refer to this string.
    pub original: String,
    /// The text the analysis stages read.
    pub text: String,
    /// For each character of `text`, the index of the character of `original` it
    /// came from. Empty when the mapping is the identity.
    origin: Vec<u32>,
    /// Whether traditional characters were converted.
    pub converted_traditional: bool,
}

impl NormalizedText {
    /// Maps a character range of `text` to the character range of `original`.
    pub fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        if self.origin.is_empty() {
            return (start, end);
        }
        let last = self.original.chars().count();
        let s = self.origin.get(start).map_or(last, |&i| i as usize);
        let e = if end == 0 { s } else { self.origin.get(end - 1).map_or(last, |&i| i as usize + 1) };
        (s, e.max(s))
    }
}

/// Normalises text; cheap to share across threads.
#[derive(Debug, Clone)]
pub struct Normalizer {
    traditional_to_simplified: HashMap<char, char>,
    mask_pii: bool,
}

impl Normalizer {
    /// The normaliser with the embedded traditional→simplified table.
    pub fn embedded() -> Result<Self> {
        Ok(Normalizer { traditional_to_simplified: parse_t2s(resources::T2S_CHARS)?, mask_pii: true })
    }

    /// Switches personal-data masking on or off (on by default).
    pub fn with_pii_masking(mut self, on: bool) -> Self {
        self.mask_pii = on;
        self
    }

    pub fn masks_pii(&self) -> bool {
        self.mask_pii
    }

    /// Masks personal data (if enabled) without the rest of normalisation; for
    /// echoing fields and error messages.
    pub fn mask<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        if self.mask_pii {
            pii::mask(text)
        } else {
            std::borrow::Cow::Borrowed(text)
        }
    }

    pub fn normalize(&self, input: &str) -> NormalizedText {
        let original = self.mask(input).into_owned();
        let mut text = String::with_capacity(original.len());
        let mut origin = Vec::new();
        let mut converted_traditional = false;
        let mut length_changed = false;
        for (i, c) in original.chars().enumerate() {
            let Some(mapped) = self.map_simple(c, &mut converted_traditional) else {
                if is_dropped(c) {
                    if !length_changed {
                        length_changed = true;
                        origin.extend(0..i as u32);
                    }
                    continue;
                }
                return self.normalize_general(original);
            };
            text.push(mapped);
            if length_changed {
                origin.push(i as u32);
            }
        }
        NormalizedText { original, text, origin, converted_traditional }
    }

    /// One-for-one mapping of a character whose NFKC form is a single known
    /// character; `None` when the general path is needed (or the char is dropped).
    fn map_simple(&self, c: char, converted: &mut bool) -> Option<char> {
        let cp = c as u32;
        if c.is_ascii() {
            if c.is_ascii_control() {
                return if c == '\n' || c == '\t' || c == '\r' { Some(' ') } else { None };
            }
            return Some(c.to_ascii_lowercase());
        }
        if (0xFF01..=0xFF5E).contains(&cp) {
            // Full-width ASCII forms sit at a fixed distance from ASCII.
            return char::from_u32(cp - 0xFEE0).map(|a| a.to_ascii_lowercase());
        }
        if cp == 0x3000 {
            return Some(' ');
        }
        if let Some(&s) = self.traditional_to_simplified.get(&c) {
            *converted = true;
            return Some(s);
        }
        let simple = (0x4E00..=0x9FFF).contains(&cp)
            || (0x3400..=0x4DBF).contains(&cp)
            || (0x3001..=0x303F).contains(&cp)
            || (0x2010..=0x2023).contains(&cp)
            || (0x1F000..=0x1FAFF).contains(&cp)
            || (0x2600..=0x27BF).contains(&cp)
            || matches!(cp, 0xFE0F | 0x200D | 0xB7 | 0xD7 | 0xA5);
        simple.then_some(c)
    }

    /// The general path: the tokenizers normalizer chain with full alignment tracking.
    fn normalize_general(&self, original: String) -> NormalizedText {
        let mut ns = NormalizedString::from(original.as_str());
        let chain = Sequence::new(vec![NFKC.into(), Lowercase.into()]);
        // NFKC and lowercasing cannot fail on a NormalizedString; if a future
        // version reports an error we fall back to the unnormalised text.
        if chain.normalize(&mut ns).is_err() {
            ns = NormalizedString::from(original.as_str());
        }
        let mut converted_traditional = false;
        for c in ns.get().chars() {
            converted_traditional |= self.traditional_to_simplified.contains_key(&c);
        }
        let t2s = &self.traditional_to_simplified;
        ns.map(|c| if c.is_whitespace() { ' ' } else { *t2s.get(&c).unwrap_or(&c) });
        ns.filter(|c| !is_dropped(c));

        let byte_to_char = char_index_by_byte(&original);
        let text = ns.get().to_string();
        let mut origin = Vec::with_capacity(text.len());
        for (b, c) in text.char_indices() {
            let orig_char = ns.convert_offsets(Range::Normalized(b..b + c.len_utf8())).and_then(|r| byte_to_char.get(r.start).copied()).unwrap_or(0);
            origin.push(orig_char);
        }
        NormalizedText { original, text, origin, converted_traditional }
    }
}

fn is_dropped(c: char) -> bool {
    (c.is_control() && !c.is_whitespace()) || matches!(c as u32, 0x200B | 0x200C | 0xFEFF)
}

/// Character index of the character starting at each byte offset of `s`.
fn char_index_by_byte(s: &str) -> Vec<u32> {
    let mut map = vec![0u32; s.len() + 1];
    for (ci, (b, c)) in s.char_indices().enumerate() {
        for k in 0..c.len_utf8() {
            map[b + k] = ci as u32;
        }
    }
    map[s.len()] = s.chars().count() as u32;
    map
}

fn parse_t2s(data: &str) -> Result<HashMap<char, char>> {
    let mut map = HashMap::new();
    for (n, line) in data.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut it = line.split('\t').map(|f| f.chars());
        match (it.next().and_then(|mut c| c.next()), it.next().and_then(|mut c| c.next())) {
            (Some(t), Some(s)) => {
                map.insert(t, s);
            }
            _ => return Err(Error::Lexicon { name: "t2s_chars.tsv".into(), line: n + 1, reason: "expected `traditional<TAB>simplified`".into() }),
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm() -> Normalizer {
        Normalizer::embedded().unwrap()
    }

    #[test]
    fn full_width_becomes_half_width_and_lower_case() {
        let n = norm().normalize("ＡＢＣ１２３，好！");
        assert_eq!(n.text, "abc123,好!");
        assert_eq!(n.original, "ＡＢＣ１２３，好！");
    }

    #[test]
    fn traditional_is_converted_and_original_kept() {
        let n = norm().normalize("這個產品質量很好");
        assert_eq!(n.text, "这个产品质量很好");
        assert!(n.converted_traditional);
        assert_eq!(n.original, "這個產品質量很好");
    }

    #[test]
    fn general_path_keeps_alignment_for_length_changes() {
        // "…" and "㎏" expand under NFKC; offsets must still land in the original.
        let n = norm().normalize("重㎏…物流慢");
        assert!(n.text.ends_with("物流慢"), "{}", n.text);
        let start = n.text.chars().count() - 3;
        let (s, e) = n.original_range(start, start + 3);
        let orig: String = n.original.chars().skip(s).take(e - s).collect();
        assert_eq!(orig, "物流慢");
    }

    #[test]
    fn control_characters_are_dropped_with_alignment() {
        let n = norm().normalize("a\u{0}b\u{200b}物流慢");
        assert_eq!(n.text, "ab物流慢");
        assert_eq!(n.original_range(2, 5), (4, 7));
    }

    #[test]
    fn personal_data_is_masked_in_original() {
        let n = norm().normalize("我的电话13812345678");
        assert_eq!(n.original, "我的电话138****5678");
        let keep = norm().with_pii_masking(false).normalize("我的电话13812345678");
        assert_eq!(keep.original, "我的电话13812345678");
    }

    #[test]
    fn emoji_are_kept() {
        assert_eq!(norm().normalize("好评👍").text, "好评👍");
    }
}
