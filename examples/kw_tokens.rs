//! Prints the keyword stage's view of each line of stdin: jieba tokens with tags
//! (after splitting glued modifiers) and the phrases the rules propose, each
//! marked `+` if the phrase filter keeps it (debug aid).
use std::io::BufRead;

use feedback_triage::keywords::KeywordExtractor;
use feedback_triage::normalize::Normalizer;
use feedback_triage::segment::Segmenter;

fn main() {
    let n = Normalizer::embedded().unwrap();
    let s = Segmenter::embedded().unwrap();
    let k = KeywordExtractor::embedded().unwrap();
    let rules = KeywordExtractor::embedded().unwrap().with_filter(None).with_max_keywords(usize::MAX);
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let norm = n.normalize(&line);
        let toks = s.segment(&norm.text);
        println!("{}", k.debug_units(&norm, &toks));
        let kept = k.extract(&norm, &toks);
        for kw in rules.extract(&norm, &toks) {
            let mark = if kept.contains(&kw) { '+' } else { '-' };
            println!("  {mark} {} [{} | {} | {}] {}..{} {}", kw.text, kw.aspect, kw.opinion, kw.polarity.as_str(), kw.start, kw.end, kw.group);
        }
    }
}
