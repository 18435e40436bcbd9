//! Prints the keyword stage's view of each line of stdin: jieba tokens with tags
//! (after splitting glued modifiers) and the extracted phrases (debug aid).
use std::io::BufRead;

use feedback_triage::keywords::KeywordExtractor;
use feedback_triage::normalize::Normalizer;
use feedback_triage::segment::Segmenter;

fn main() {
    let n = Normalizer::embedded().unwrap();
    let s = Segmenter::embedded().unwrap();
    let k = KeywordExtractor::embedded().unwrap();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let norm = n.normalize(&line);
        let toks = s.segment(&norm.text);
        println!("{}", k.debug_units(&norm, &toks));
        for kw in k.extract(&norm, &toks) {
            println!("    {} [{} | {} | {}] {}..{} {}", kw.text, kw.aspect, kw.opinion, kw.polarity.as_str(), kw.start, kw.end, kw.group);
        }
    }
}
