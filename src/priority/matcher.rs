//! The issue lexicon as one precompiled Aho–Corasick automaton.
//!
//! Every term is a sequence of parts ("登录*失败" → 登录, 失败). All distinct parts,
//! the urgency cues and the exclusion spans are compiled into one automaton, so
//! an item is scanned once. A term matches when its parts occur in order, each
//! gap at most `max_gap` characters inside one clause with no negator in it, and
//! the text just before the term is not a negator (没有闪退). A hit inside an
//! exclusion span (多媒体 for 媒体) does not count.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::config::Config;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Issue(u32),
    Cue,
}

#[derive(Debug)]
struct Term {
    target: Target,
    parts: Box<[u32]>,
}

#[derive(Debug, Clone, Copy)]
struct Hit {
    atom: u32,
    start: u32,
    end: u32,
}

/// One issue found in a text: its index and the byte span of the first match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub issue: usize,
    pub start: usize,
    pub end: usize,
}

/// What the lexicon found in one text.
#[derive(Debug, Default)]
pub(crate) struct Matches {
    /// Distinct issues, in order of first match.
    pub issues: Vec<Found>,
    /// Byte span of the first urgency cue.
    pub cue: Option<(usize, usize)>,
}

#[derive(Debug)]
pub(crate) struct Lexicon {
    ac: Option<AhoCorasick>,
    /// Per atom (pattern id): the (term, part index) pairs it is part of.
    atom_refs: Vec<Vec<(u32, u32)>>,
    /// Per atom: whether it is an exclusion span.
    atom_excludes: Vec<bool>,
    terms: Vec<Term>,
    negators: Vec<String>,
    gap_negators: Vec<String>,
    max_gap: usize,
}

impl Lexicon {
    pub fn build(cfg: &Config) -> Result<Lexicon> {
        let mut atoms: Vec<String> = Vec::new();
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut intern = |s: &str, atoms: &mut Vec<String>| -> u32 {
            *ids.entry(s.to_string()).or_insert_with(|| {
                atoms.push(s.to_string());
                (atoms.len() - 1) as u32
            })
        };
        let mut terms = Vec::new();
        for (i, issue) in cfg.issues.iter().enumerate() {
            for parts in &issue.terms {
                let parts: Box<[u32]> = parts.iter().map(|p| intern(p, &mut atoms)).collect();
                terms.push(Term { target: Target::Issue(i as u32), parts });
            }
        }
        for cue in &cfg.urgency.cue_terms {
            let parts: Box<[u32]> = cue.split('*').map(|p| intern(p, &mut atoms)).collect();
            terms.push(Term { target: Target::Cue, parts });
        }
        let mut exclude_atoms = Vec::new();
        for ex in &cfg.matching.exclude {
            exclude_atoms.push(intern(ex, &mut atoms));
        }
        let mut atom_refs = vec![Vec::new(); atoms.len()];
        for (t, term) in terms.iter().enumerate() {
            for (p, &a) in term.parts.iter().enumerate() {
                atom_refs[a as usize].push((t as u32, p as u32));
            }
        }
        let mut atom_excludes = vec![false; atoms.len()];
        for a in exclude_atoms {
            atom_excludes[a as usize] = true;
        }
        let ac = if atoms.is_empty() {
            None
        } else {
            Some(AhoCorasickBuilder::new().match_kind(MatchKind::Standard).build(&atoms).map_err(|e| Error::Config {
                origin: "priority lexicon".into(),
                key: "issues".into(),
                reason: format!("cannot compile the term matcher: {e}"),
            })?)
        };
        Ok(Lexicon {
            ac,
            atom_refs,
            atom_excludes,
            terms,
            negators: cfg.matching.negators.clone(),
            gap_negators: cfg.matching.gap_negators.clone(),
            max_gap: cfg.matching.max_gap,
        })
    }

    /// Scans one (normalised) text.
    pub fn find(&self, text: &str) -> Matches {
        let mut out = Matches::default();
        let Some(ac) = &self.ac else { return out };
        let mut hits: Vec<Hit> = Vec::new();
        let mut any_exclude = false;
        for m in ac.find_overlapping_iter(text) {
            let atom = m.pattern().as_u32();
            any_exclude |= self.atom_excludes[atom as usize];
            hits.push(Hit { atom, start: m.start() as u32, end: m.end() as u32 });
        }
        if hits.is_empty() {
            return out;
        }
        if any_exclude {
            let spans: Vec<(u32, u32)> = hits.iter().filter(|h| self.atom_excludes[h.atom as usize]).map(|h| (h.start, h.end)).collect();
            hits.retain(|h| !self.atom_excludes[h.atom as usize] && !spans.iter().any(|&(s, e)| s <= h.start && h.end <= e));
        }
        for h in &hits {
            for &(t, p) in &self.atom_refs[h.atom as usize] {
                let term = &self.terms[t as usize];
                if p as usize + 1 != term.parts.len() {
                    continue;
                }
                let Some(start) = self.chain_start(text, &hits, term, p as usize, h.start as usize) else { continue };
                if self.negated_before(text, start) {
                    continue;
                }
                match term.target {
                    Target::Issue(i) => {
                        let issue = i as usize;
                        if !out.issues.iter().any(|f| f.issue == issue) {
                            out.issues.push(Found { issue, start, end: h.end as usize });
                        }
                    }
                    Target::Cue => {
                        out.cue.get_or_insert((start, h.end as usize));
                    }
                }
            }
        }
        out
    }

    /// Start of a match of `term` whose part `p` starts at `cur_start`, if its
    /// earlier parts precede it within the gap rules.
    fn chain_start(&self, text: &str, hits: &[Hit], term: &Term, p: usize, cur_start: usize) -> Option<usize> {
        if p == 0 {
            return Some(cur_start);
        }
        let want = term.parts[p - 1];
        for g in hits.iter().rev() {
            if g.atom != want || g.end as usize > cur_start {
                continue;
            }
            if !self.gap_ok(&text[g.end as usize..cur_start]) {
                continue;
            }
            if let Some(s) = self.chain_start(text, hits, term, p - 1, g.start as usize) {
                return Some(s);
            }
        }
        None
    }

    fn gap_ok(&self, gap: &str) -> bool {
        // Four bytes per character at most: a cheap bound before counting.
        if gap.len() > self.max_gap * 4 {
            return false;
        }
        let mut n = 0;
        for c in gap.chars() {
            n += 1;
            if n > self.max_gap || is_clause_break(c) {
                return false;
            }
        }
        !self.gap_negators.iter().any(|neg| gap.contains(neg.as_str()))
    }

    fn negated_before(&self, text: &str, start: usize) -> bool {
        let before = &text[..start];
        self.negators.iter().any(|n| before.ends_with(n.as_str()))
    }
}

fn is_clause_break(c: char) -> bool {
    matches!(c, ',' | '.' | '!' | '?' | ';' | ':' | '~' | '、' | '。' | '…' | '，' | '！' | '？' | '；' | '：' | '\n' | ' ' | '　')
}
