//! Stage 2: segmentation with jieba-rs, the default dictionary plus the domain
//! user dictionary in `models/userdict.txt`, with part-of-speech tags (the
//! keyword stage reads them) and character offsets into the normalised text.

use jieba_rs::Jieba;

use crate::error::{Error, Result};
use crate::resources;

/// One word of the normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub word: &'a str,
    /// jieba's part-of-speech tag (n, v, a, d, x, ...).
    pub tag: &'a str,
    /// Character offsets into the normalised text.
    pub start: usize,
    pub end: usize,
    /// Byte offsets into the normalised text.
    pub byte_start: usize,
    pub byte_end: usize,
}

impl Token<'_> {
    /// Punctuation and whitespace, which separate clauses and carry no content.
    pub fn is_punctuation(&self) -> bool {
        self.word.chars().all(|c| c.is_whitespace() || c.is_ascii_punctuation() || is_cjk_punct(c))
    }

    /// Clause boundaries: sentence and clause punctuation.
    pub fn is_clause_break(&self) -> bool {
        self.word.chars().any(|c| matches!(c, ',' | '.' | '!' | '?' | ';' | '~' | '、' | '。' | '…' | '\n' | ' ' | '：' | ':' | '　'))
    }
}

fn is_cjk_punct(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0x2010..=0x2027 | 0xFF00..=0xFF0F | 0xFE30..=0xFE4F)
}

/// jieba with the domain dictionary; `Send + Sync`, build once and share.
pub struct Segmenter {
    jieba: Jieba,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Segmenter")
    }
}

impl Segmenter {
    /// jieba's default dictionary plus the embedded domain dictionary.
    pub fn embedded() -> Result<Self> {
        Self::with_user_dict(resources::USER_DICT)
    }

    /// jieba's default dictionary plus a user dictionary in jieba's format
    /// (`word [freq] [tag]` per line).
    pub fn with_user_dict(dict: &str) -> Result<Self> {
        let mut jieba = Jieba::new();
        jieba.load_dict(&mut std::io::BufReader::new(dict.as_bytes())).map_err(|e| Error::Lexicon {
            name: "userdict.txt".into(),
            line: 0,
            reason: e.to_string(),
        })?;
        Ok(Segmenter { jieba })
    }

    /// Segments and tags `text` (HMM on, so unseen words are still grouped).
    pub fn segment<'a>(&'a self, text: &'a str) -> Vec<Token<'a>> {
        self.jieba
            .tag(text, true)
            .into_iter()
            .map(|t| Token { word: t.word, tag: t.tag, start: t.start, end: t.end, byte_start: t.byte_start, byte_end: t.byte_end })
            .collect()
    }

    /// Words only, without tags (cheaper; used by the throughput floor).
    pub fn cut<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.jieba.cut(text, true).into_iter().map(|t| t.word).collect()
    }

    pub fn jieba(&self) -> &Jieba {
        &self.jieba
    }
}

/// Splits a token sequence into clauses at punctuation; each clause is a range of
/// token indices with at least one content token.
pub fn clauses(tokens: &[Token<'_>]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, t) in tokens.iter().enumerate() {
        if t.is_clause_break() && t.is_punctuation() {
            if tokens[start..i].iter().any(|t| !t.is_punctuation()) {
                out.push(start..i);
            }
            start = i + 1;
        }
    }
    if tokens[start.min(tokens.len())..].iter().any(|t| !t.is_punctuation()) {
        out.push(start..tokens.len());
    }
    out
}

/// The byte range of each clause in the text the tokens were cut from.
pub fn clause_byte_ranges(tokens: &[Token<'_>], clauses: &[std::ops::Range<usize>]) -> Vec<std::ops::Range<usize>> {
    clauses.iter().map(|r| tokens[r.start].byte_start..tokens[r.end - 1].byte_end).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_terms_stay_whole() {
        let s = Segmenter::embedded().unwrap();
        let words = s.cut("花呗借呗都用不了，app闪退");
        for w in ["花呗", "借呗", "闪退"] {
            assert!(words.contains(&w), "{w} missing from {words:?}");
        }
    }

    #[test]
    fn tokens_carry_tags_and_char_offsets() {
        let s = Segmenter::embedded().unwrap();
        let text = "物流很慢";
        let toks = s.segment(text);
        assert_eq!(toks.first().map(|t| t.word), Some("物流"));
        assert_eq!(toks.last().map(|t| t.end), Some(4));
        assert!(toks.iter().all(|t| !t.tag.is_empty()));
    }

    #[test]
    fn clauses_split_at_punctuation() {
        let s = Segmenter::embedded().unwrap();
        let text = "房间很好,早餐太差,建议增加品种";
        let toks = s.segment(text);
        let cl = clauses(&toks);
        assert_eq!(cl.len(), 3);
        assert!(clauses(&s.segment("")).is_empty());
        assert!(clauses(&s.segment("!!!")).is_empty());
    }
}
