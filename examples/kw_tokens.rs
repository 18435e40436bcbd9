//! Prints jieba tokens with POS tags, one text per line of stdin (debug aid).
use std::io::BufRead;
use feedback_triage::normalize::Normalizer;
use feedback_triage::segment::Segmenter;
fn main() {
    let n = Normalizer::embedded().unwrap();
    let s = Segmenter::embedded().unwrap();
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let norm = n.normalize(&line);
        let toks = s.segment(&norm.text);
        let v: Vec<String> = toks.iter().map(|t| format!("{}/{}", t.word, t.tag)).collect();
        println!("{}", v.join(" "));
    }
}
