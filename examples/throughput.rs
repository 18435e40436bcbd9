//! Reproducible throughput and memory measurement (README "Performance").
//!
//! ```sh
//! cargo build --release && cargo run --release --example throughput -- ../shared/data/corpora 300000
//! ```
//! Builds a review file of N items from the shared corpora (in a temp dir), then
//! measures, in the same run: the floor (bare jieba-rs `cut` on one thread, and its
//! dictionary load), `triage classify` end to end on 1 and 2 threads with peak RSS,
//! start-up (one item, process start to exit), and single-item library latency.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use feedback_triage::Pipeline;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let corpora = Path::new(args.get(1).map(String::as_str).unwrap_or("../shared/data/corpora"));
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300_000);
    let triage = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("triage");

    let reviews = load_reviews(corpora);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("reviews.jsonl");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    let mut texts = Vec::with_capacity(n);
    for i in 0..n {
        let t = &reviews[i % reviews.len()];
        writeln!(f, "{}", serde_json::json!({"id": i.to_string(), "text": t})).unwrap();
        texts.push(t.as_str());
    }
    f.flush().unwrap();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    println!("input: {n} reviews, {:.1} MB of text, file {:.1} MB", bytes as f64 / 1e6, std::fs::metadata(&input).unwrap().len() as f64 / 1e6);

    // Floor: bare jieba-rs, one thread.
    let t0 = Instant::now();
    let jieba = jieba_rs::Jieba::new();
    let load = t0.elapsed();
    let t0 = Instant::now();
    let mut words = 0usize;
    for t in &texts {
        words += jieba.cut(t, true).len();
    }
    let floor = t0.elapsed().as_secs_f64();
    println!(
        "floor (jieba-rs cut, 1 thread): {:.0} items/s, {:.1} MB/s, dictionary load {:.0} ms ({words} words)",
        n as f64 / floor,
        bytes as f64 / 1e6 / floor,
        load.as_secs_f64() * 1e3
    );

    let mut one_thread = 0.0;
    for threads in [1, 2] {
        let out = dir.path().join("out.jsonl");
        let t0 = Instant::now();
        let o = Command::new(&triage)
            .args(["classify", "--quiet", "--threads", &threads.to_string(), "--input"])
            .arg(&input)
            .arg("--output")
            .arg(&out)
            .arg("--report-peak-rss")
            .output()
            .unwrap();
        let secs = t0.elapsed().as_secs_f64();
        let rate = n as f64 / secs;
        if threads == 1 {
            one_thread = rate;
        }
        let stderr = String::from_utf8_lossy(&o.stderr);
        println!(
            "triage classify, {threads} thread(s): {rate:.0} items/s ({:.0}% of floor{}), {}",
            100.0 * rate / (n as f64 / floor),
            if threads > 1 { format!(", {:.2}x one thread", rate / one_thread) } else { String::new() },
            stderr.trim()
        );
    }

    let one = dir.path().join("one.jsonl");
    std::fs::write(&one, "{\"text\":\"物流太慢了\"}\n").unwrap();
    let mut startup = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        Command::new(&triage).args(["classify", "-q", "--output", "/dev/null", "--input"]).arg(&one).status().unwrap();
        startup.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    startup.sort_by(f64::total_cmp);
    println!("start-up (load embedded model + dictionaries, classify one item, exit): median {:.0} ms", startup[2]);

    let p = Pipeline::embedded().unwrap();
    let review = "酒店位置很好，离地铁站很近，房间也干净，就是早餐品种太少了，服务员态度一般，希望改进。";
    let mut lat = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let t0 = Instant::now();
        let _ = std::hint::black_box(p.analyze_text(review));
        lat.push(t0.elapsed().as_secs_f64() * 1e6);
    }
    lat.sort_by(f64::total_cmp);
    println!("single-item library latency ({} chars): p50 {:.1} µs, p99 {:.1} µs", review.chars().count(), lat[lat.len() / 2], lat[lat.len() * 99 / 100]);
}

fn load_reviews(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["online_shopping_10_cats.csv", "ChnSentiCorp_htl_all.csv"] {
        let mut rdr = csv::Reader::from_path(dir.join(name)).expect("corpus file");
        let headers = rdr.headers().unwrap().clone();
        let col = headers.iter().position(|h| h == "review").unwrap();
        for r in rdr.records().flatten() {
            if let Some(t) = r.get(col).filter(|t| !t.trim().is_empty()) {
                out.push(t.to_string());
            }
        }
    }
    out
}
