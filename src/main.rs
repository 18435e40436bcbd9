//! `triage`: the command-line shell over the feedback_triage library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use feedback_triage::batch::{self, Pass, RunStats, Sink};
use feedback_triage::eval::{evaluate, Prediction};
use feedback_triage::input::{count_rows, ColumnMap, Format, RecordReader, Reject};
use feedback_triage::output::{self, AtomicOutput, RecordWriter};
use feedback_triage::primary::DecisionRule;
use feedback_triage::priority::PriorityScorer;
use feedback_triage::record::{Analysis, FeedbackRecord};
use feedback_triage::report::{self, ReportBuilder};
use feedback_triage::summary::SummaryBuilder;
use feedback_triage::train::{self, Corpora, TrainOptions};
use feedback_triage::{Error, Pipeline};

#[derive(Parser)]
#[command(name = "triage", version, about = "Triage Chinese customer feedback: category (表扬/建议/问题/咨询), aspect–opinion keywords, priority.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Classify a file of feedback (JSONL, CSV or TSV in UTF-8 or GBK, or an Excel workbook) and write one analysed record per input record.
    Classify(ClassifyArgs),
    /// Train a model from labelled items and the sentiment corpora.
    Train(TrainArgs),
    /// Train the keyword phrase filter (which proposed aspect–opinion phrases to keep) from labelled opinion pairs.
    TrainPhrases(TrainPhrasesArgs),
    /// Measure a model on a gold file (LABELING.md format): accuracy, macro-F1, per-class scores, confusion.
    Eval(EvalArgs),
    /// Write the analysis report (反馈分析报告, one self-contained HTML page) for output of an earlier `classify`.
    Report(ReportArgs),
}

#[derive(Args)]
struct ReportArgs {
    /// Analysed records: the JSONL output of `triage classify`.
    #[arg(short, long)]
    input: PathBuf,
    /// Where to write the HTML report.
    #[arg(short, long)]
    output: PathBuf,
    /// The JSON summary of an earlier run, for trends (groups that rose, fell or are new; spikes).
    #[arg(long)]
    previous: Option<PathBuf>,
    /// The rejects file of the same run (`classify --rejects`), counted and listed in the report.
    #[arg(long)]
    rejects: Option<PathBuf>,
}

#[derive(Args)]
struct ClassifyArgs {
    /// Input file; `-` or absent = standard input. Records need a `text` field (CSV/TSV/xlsx: a `text` column; see --column).
    #[arg(short, long)]
    input: Option<PathBuf>,
    /// Output file; `-` or absent = standard output. Written atomically.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Input format (default: from the input's extension, else jsonl). `xlsx` reads
    /// Excel (.xlsx/.xlsm/.xlsb/.xls) and OpenDocument (.ods) workbooks.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Read a record field from a differently named column, as FIELD=COLUMN
    /// (repeatable): `--column text=评价内容 --column id=订单号`. Fields: text, id,
    /// customer_tier, customer_value, channel, created_at. Applies to JSONL keys too.
    #[arg(long = "column", value_name = "FIELD=COLUMN", value_parser = parse_column_spec)]
    column: Vec<String>,
    /// Output format (default: from the output's extension, else jsonl). csv, tsv and
    /// xlsx hold a flat view (category, confidence, labels, keywords, priority, text).
    #[arg(long, value_enum)]
    output_format: Option<Format>,
    /// Begin csv/tsv output with a UTF-8 byte-order mark, so Excel opens it as UTF-8
    /// rather than garbling the Chinese (scripts usually want it off, the default).
    #[arg(long)]
    bom: bool,
    /// Model file from `triage train` (default: the embedded model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Analysis worker threads (default: all cores); reading and writing run on their
    /// own threads beside them. Output is identical for any value.
    #[arg(long)]
    threads: Option<usize>,
    /// Write rejected rows (file, line, reason, raw record) to this JSONL file.
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Exit non-zero if any row is rejected.
    #[arg(long)]
    strict: bool,
    /// No progress bar or summary line.
    #[arg(short, long)]
    quiet: bool,
    /// Keep phone, ID-card, bank-card numbers and e-mail addresses in clear (masked by default).
    #[arg(long)]
    keep_pii: bool,
    /// Print the process's peak resident memory at the end (Linux), for benchmarks.
    #[arg(long, hide = true)]
    report_peak_rss: bool,
    /// Write the batch's JSON summary (top keyword groups per category) here.
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Priority configuration (TOML, merged over the embedded models/priority.toml).
    #[arg(long)]
    priority_config: Option<PathBuf>,
    /// Also write the analysis report (self-contained HTML) here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// The JSON summary of an earlier run, for the report's trends.
    #[arg(long, requires = "report")]
    previous: Option<PathBuf>,
}

#[derive(Args)]
struct TrainArgs {
    /// Where to write the model.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    data: LabelledData,
    /// Reuse the sentiment layer of this model instead of retraining it (faster iteration).
    #[arg(long)]
    reuse_sentiment: Option<PathBuf>,
    /// Report K-fold cross-validation on the training items before the final fit.
    #[arg(long)]
    cv: Option<usize>,
    /// With --cv: write each training item's out-of-fold prediction here (JSONL:
    /// id, gold, predicted, presence and multinomial probabilities), for error
    /// analysis and decision-rule studies without the dev set.
    #[arg(long, requires = "cv")]
    cv_predictions: Option<PathBuf>,
    /// L2 penalty of the category layer.
    #[arg(long, default_value_t = TrainOptions::default().category_alpha)]
    alpha: f32,
    /// Times each suggestion item counts (the class is rare).
    #[arg(long, default_value_t = TrainOptions::default().suggestion_weight)]
    suggestion_weight: usize,
    /// FILE=N: each item read from the labelled file FILE counts N times in the
    /// category layers' fits (repeatable). Cross-validation keeps an item's repeats
    /// in its own fold.
    #[arg(long, value_parser = parse_item_weight)]
    item_weight: Vec<(PathBuf, usize)>,
    /// Add this many weakly labelled negative (problem) and positive (praise) corpus reviews.
    #[arg(long, default_value_t = 0)]
    weak: usize,
    /// Minimum number of training items a category feature must occur in.
    #[arg(long, default_value_t = TrainOptions::default().min_df)]
    min_df: usize,
    /// At most this many category features, the most frequent lexical ones kept
    /// (training time and memory grow with items × features).
    #[arg(long, default_value_t = TrainOptions::default().max_features)]
    max_features: usize,
    /// Weight of the multinomial layer when the primary category is decided (0: the
    /// presence layers alone, in LABELING.md's precedence). --cv reports every weight.
    #[arg(long, default_value_t = TrainOptions::default().primary_blend,
          value_parser = parse_unit_interval)]
    primary_blend: f32,
    /// At most this many clause-head features, the most frequent kept (they are fitted
    /// sparsely, so this bounds the model's size rather than memory).
    #[arg(long, default_value_t = TrainOptions::default().clause_max_features)]
    clause_max_features: usize,
    /// L2 penalty of the clause presence heads.
    #[arg(long, default_value_t = TrainOptions::default().clause_alpha)]
    clause_alpha: f32,
    /// The clause heads also read runs of up to this many adjacent clauses
    /// (1: each clause alone; 2: and each pair, so 如果…, 就更好 is read whole).
    #[arg(long, default_value_t = TrainOptions::default().clause_window as u64,
          value_parser = clap::value_parser!(u64).range(1..=feedback_triage::model::MAX_CLAUSE_WINDOW as u64))]
    clause_window: u64,
    /// At most this many sentiment-labelled reviews for the clause sentiment layer (a deterministic sample).
    #[arg(long, default_value_t = TrainOptions::default().sentiment_sample)]
    sentiment_sample: usize,
    /// Vocabulary cap of the clause sentiment layer.
    #[arg(long, default_value_t = TrainOptions::default().sentiment_vocab)]
    sentiment_vocab: usize,
    /// Keep the labelled items' own texts out of the sentiment layer's reviews, so the
    /// sentiment features the category layers learn from are scored as on unseen text.
    #[arg(long)]
    sentiment_unseen: bool,
}

#[derive(Args)]
struct TrainPhrasesArgs {
    /// Where to write the phrase filter (the shipped one is models/keywords/phrase_filter.json).
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    data: LabelledData,
    /// Folds of the cross-validation that chooses the keep threshold.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// L2 penalty of the filter.
    #[arg(long, default_value_t = 1.0)]
    alpha: f32,
}

/// The hand-labelled training data, shared by both training commands.
#[derive(Args)]
struct LabelledData {
    /// Labelled items in LABELING.md's JSONL format (repeatable).
    #[arg(long, default_values = ["../shared/data/gold/train.jsonl", "data/train/written.jsonl", "data/train/written_new_domains.jsonl"])]
    gold: Vec<PathBuf>,
    /// Row-referenced hand labels of corpus rows (repeatable): files, or folders
    /// whose `*.jsonl` files are read in name order (the order fixes the folds).
    #[arg(long, default_values = ["data/labels"])]
    labels: Vec<PathBuf>,
    /// Folder of the shared corpora (sentiment reviews, ATEC questions).
    #[arg(long, default_value = "../shared/data/corpora")]
    corpora: PathBuf,
    /// Gold files whose texts must never be trained on (repeatable).
    #[arg(long, default_values = ["../shared/data/gold/dev.jsonl", "data/eval/crossdomain.jsonl"])]
    exclude: Vec<PathBuf>,
}

#[derive(Args)]
struct EvalArgs {
    /// Gold file in LABELING.md's format.
    #[arg(long)]
    gold: PathBuf,
    /// Model file (default: the embedded model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Also write the predictions (JSONL, with `id`) here, for score.py.
    #[arg(long)]
    predictions: Option<PathBuf>,
    /// Read `--gold` as labels of corpus rows by reference (the `data/labels/` format),
    /// their texts taken from the corpora in this directory.
    #[arg(long)]
    corpora: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Classify(a) => classify(a),
        Command::Train(a) => train_cmd(a),
        Command::TrainPhrases(a) => train_phrases_cmd(a),
        Command::Eval(a) => eval_cmd(a),
        Command::Report(a) => report_cmd(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("triage: {e}");
            ExitCode::from(2)
        }
    }
}

/// A number in 0..=1 (clap value parser for weights).
fn parse_unit_interval(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(w) if (0.0..=1.0).contains(&w) => Ok(w),
        _ => Err(format!("{s:?} is not a number in 0..1")),
    }
}

/// Checks one `--column` on its own, so that a typo fails before any work.
fn parse_column_spec(s: &str) -> Result<String, String> {
    ColumnMap::parse(&[s]).map(|_| s.to_string())
}

fn load_pipeline(model: Option<&Path>) -> Result<Pipeline, Error> {
    match model {
        Some(p) => Pipeline::from_path(p),
        None => Pipeline::embedded(),
    }
}

struct CliSink {
    writer: RecordWriter,
    rejects: Option<AtomicOutput>,
    quiet: bool,
    report: Option<ReportBuilder>,
    summary: Option<SummaryBuilder>,
}

impl Sink for CliSink {
    fn analysed(&mut self, record: &FeedbackRecord, analysis: &Analysis, encoded: &[u8]) -> Result<(), Error> {
        if let Some(r) = &mut self.report {
            r.add(record, analysis);
        }
        if let Some(s) = &mut self.summary {
            s.add(analysis);
        }
        self.writer.write_encoded(encoded)
    }

    fn rejected(&mut self, reject: &Reject) -> Result<(), Error> {
        if let Some(r) = &mut self.report {
            r.add_reject(reject);
        }
        if !self.quiet {
            eprintln!("triage: rejected {reject}");
        }
        if let Some(out) = &mut self.rejects {
            let mut line = serde_json::to_string(reject).unwrap_or_default();
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

fn classify(a: ClassifyArgs) -> Result<ExitCode, Error> {
    if let Some(n) = a.threads {
        // Only fails if a global pool already exists, which cannot happen here.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build_global();
    }
    let mut pipeline = load_pipeline(a.model.as_deref())?.with_pii_masking(!a.keep_pii);
    if let Some(p) = &a.priority_config {
        pipeline = pipeline.with_priority(PriorityScorer::from_path(p)?);
    }
    let format = a.format.unwrap_or_else(|| a.input.as_deref().map_or(Format::Jsonl, Format::from_path));
    let output_format = a.output_format.unwrap_or_else(|| a.output.as_deref().map_or(Format::Jsonl, Format::from_path));
    let columns = ColumnMap::parse(&a.column).map_err(|reason| Error::Config { origin: "command line".into(), key: "--column".into(), reason })?;
    let reader = RecordReader::open(a.input.as_deref(), format, columns)?;
    let total = a.input.as_deref().filter(|p| *p != Path::new("-")).and_then(|p| count_rows(p, format));
    let show_progress = !a.quiet && std::io::stderr().is_terminal();
    let bar = show_progress.then(|| progress_bar(total));
    let mut sink = CliSink {
        writer: RecordWriter::new(AtomicOutput::create(a.output.as_deref())?, output_format)?.with_bom(a.bom)?,
        rejects: a.rejects.as_deref().map(|p| AtomicOutput::create(Some(p))).transpose()?,
        quiet: a.quiet,
        report: a.report.as_ref().map(|_| ReportBuilder::new()),
        summary: a.summary.as_ref().map(|_| SummaryBuilder::new()),
    };
    let previous = a.previous.as_deref().map(report::load_summary).transpose()?;
    if let Some(r) = &mut sink.report {
        r.set_source(a.input.as_deref().map_or("<stdin>".to_string(), |p| p.display().to_string()));
    }
    let normalizer = pipeline.normalizer();
    let encode = |record: &FeedbackRecord, analysis: &Analysis| output::encode_record(output_format, record, analysis, normalizer);
    let stats: RunStats = batch::run(&pipeline, reader, &encode, &mut sink, &mut |pass, n| {
        if let Some(bar) = &bar {
            match pass {
                Pass::Analyse => bar.set_position(n),
                Pass::Write => bar.set_message(format!("writing {n}")),
            }
        }
    })?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    sink.writer.commit()?;
    if let Some(r) = sink.rejects {
        r.commit()?;
    }
    if let (Some(s), Some(path)) = (&sink.summary, a.summary.as_deref()) {
        let mut out = AtomicOutput::create(Some(path))?;
        out.write_all(serde_json::to_string_pretty(&s.finish()).unwrap_or_default().as_bytes())?;
        out.commit()?;
    }
    if let (Some(mut r), Some(path)) = (sink.report, a.report.as_deref()) {
        r.set_totals(stats.read, stats.written, stats.rejected);
        r.write(path, previous.as_ref())?;
    }
    if !a.quiet {
        eprintln!("triage: {stats}");
    }
    if a.report_peak_rss {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let peak = status.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.trim_start_matches("VmHWM:").trim().to_string());
        eprintln!("peak RSS {}", peak.unwrap_or_else(|| "unknown".into()));
    }
    let failed = (stats.written == 0 && stats.read > 0) || (a.strict && stats.rejected > 0);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn progress_bar(total: Option<u64>) -> indicatif::ProgressBar {
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = if total.is_some() { "{bar:30} {pos}/{len} items {per_sec} ETA {eta} {msg}" } else { "{spinner} {pos} items {per_sec} {msg}" };
    if let Ok(s) = indicatif::ProgressStyle::with_template(style) {
        bar.set_style(s);
    }
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar
}

/// The labelled items (minus any whose text is in an `--exclude` file), the
/// excluded texts, the opened corpora, and a line per source for provenance.
struct Loaded {
    items: Vec<train::GoldItem>,
    exclude: std::collections::HashSet<String>,
    corpora: Corpora,
    sources: Vec<String>,
}

/// Parses `FILE=N` for `--item-weight`.
fn parse_item_weight(s: &str) -> Result<(PathBuf, usize), String> {
    let (file, n) = s.rsplit_once('=').ok_or_else(|| format!("expected FILE=N, got {s:?}"))?;
    let n: usize = n.parse().map_err(|_| format!("{n:?} is not a whole number"))?;
    if n == 0 {
        return Err("a weight of 0 would drop the items; leave the file out instead".into());
    }
    Ok((PathBuf::from(file), n))
}

/// `items` each counting `n` times, and the note on the file's provenance line.
fn weighted(mut items: Vec<train::GoldItem>, n: usize) -> (Vec<train::GoldItem>, String) {
    items.iter_mut().for_each(|g| g.weight = n);
    (items, if n > 1 { format!(", counted {n} times") } else { String::new() })
}

fn load_labelled(d: &LabelledData, weights: &[(PathBuf, usize)]) -> Result<Loaded, Error> {
    let label_files = label_files(&d.labels)?;
    // A weight for a file that is not read would silently change nothing.
    let read = |p: &PathBuf| p.exists() && (d.gold.contains(p) || label_files.contains(p));
    if let Some((p, _)) = weights.iter().find(|(p, _)| !read(p)) {
        return Err(Error::Config {
            origin: "command line".into(),
            key: "--item-weight".into(),
            reason: format!("{} is not one of the labelled files read", p.display()),
        });
    }
    let weight = |p: &PathBuf| weights.iter().find(|(w, _)| w == p).map_or(1, |(_, n)| *n);
    let mut exclude = std::collections::HashSet::new();
    for p in &d.exclude {
        if p.exists() {
            exclude.extend(train::load_gold(p)?.iter().map(|g| train::holdout_key(&g.text)));
        }
    }
    let corpora = Corpora::open(&d.corpora)?;
    let mut items = Vec::new();
    let mut sources = Vec::new();
    for p in &d.gold {
        if p.exists() {
            let (loaded, note) = weighted(train::load_gold(p)?, weight(p));
            sources.push(format!("{} ({} items{note})", p.display(), loaded.len()));
            items.extend(loaded);
        } else {
            eprintln!("triage: skipping missing {}", p.display());
        }
    }
    for p in &label_files {
        if p.exists() {
            let (loaded, note) = weighted(train::load_label_refs(p, &corpora)?, weight(p));
            sources.push(format!("{} ({} row labels{note})", p.display(), loaded.len()));
            items.extend(loaded);
        } else {
            eprintln!("triage: skipping missing {}", p.display());
        }
    }
    let before = items.len();
    let items = train::exclude_texts(items, |g| g.text.as_str(), &exclude);
    if items.len() < before {
        eprintln!("triage: {} labelled items excluded as held-out", before - items.len());
    }
    Ok(Loaded { items, exclude, corpora, sources })
}

/// The label files named by `--labels`: a folder stands for its `*.jsonl`
/// files in name order, so a new label file needs no code change.
fn label_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| Error::Io { path: p.clone(), source: e })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn train_phrases_cmd(a: TrainPhrasesArgs) -> Result<ExitCode, Error> {
    let loaded = load_labelled(&a.data, &[])?;
    eprintln!("triage: training the phrase filter on {} labelled items", loaded.items.len());
    let (mut file, report) = feedback_triage::phrase_training::train_phrase_filter(&loaded.items, a.folds, a.alpha)?;
    eprintln!(
        "triage: {} proposed phrases on {} items; {}-fold out of fold on real feedback:\n  rules only:            {}\n  filtered (keep ≥ {:.2}): {}",
        report.examples, report.items, a.folds, report.rules_only, report.threshold, report.filtered
    );
    for (t, s) in &report.curve {
        eprintln!("    keep ≥ {t:.2}: {s}");
    }
    file.provenance.insert(0, std::env::args().collect::<Vec<_>>().join(" "));
    file.provenance.extend(loaded.sources);
    let mut out = AtomicOutput::create(Some(&a.output))?;
    out.write_all(serde_json::to_string_pretty(&file).map_err(|e| Error::Training(e.to_string()))?.as_bytes())?;
    out.write_all(b"\n")?;
    out.commit()?;
    eprintln!("triage: wrote {}", a.output.display());
    Ok(ExitCode::SUCCESS)
}

fn train_cmd(a: TrainArgs) -> Result<ExitCode, Error> {
    let Loaded { items, exclude, corpora, sources } = load_labelled(&a.data, &a.item_weight)?;
    let sentiment: Vec<(String, bool)> = corpora.sentiment_reviews().into_iter().map(|(t, l)| (t.to_string(), l)).collect();
    let sent_before = sentiment.len();
    // Held-out texts plus the labelled items' own: what weak labels may never
    // repeat, and what --sentiment-unseen keeps from the sentiment layer.
    let mut taken = exclude.clone();
    taken.extend(items.iter().map(|g| train::holdout_key(&g.text)));
    let sentiment = train::exclude_texts(sentiment, |s| s.0.as_str(), if a.sentiment_unseen { &taken } else { &exclude });
    let mut items = items;
    eprintln!("triage: training on {} labelled items, {} sentiment reviews ({} excluded)", items.len(), sentiment.len(), sent_before - sentiment.len());
    if a.weak > 0 {
        items.extend(train::weak_items(&sentiment, a.weak, &taken));
    }
    let mut opts = TrainOptions {
        items,
        sentiment,
        category_alpha: a.alpha,
        suggestion_weight: a.suggestion_weight,
        min_df: a.min_df,
        max_features: a.max_features,
        clause_max_features: a.clause_max_features,
        clause_alpha: a.clause_alpha,
        clause_window: a.clause_window as usize,
        primary_blend: a.primary_blend,
        sentiment_sample: a.sentiment_sample,
        sentiment_vocab: a.sentiment_vocab,
        progress: train::Progress::new(|message| eprintln!("triage: {message}")),
        ..TrainOptions::default()
    };
    opts.provenance.command = std::env::args().collect::<Vec<_>>().join(" ");
    opts.provenance.sources = sources;
    let sentiment_layer = match &a.reuse_sentiment {
        Some(p) => {
            let data = std::fs::read_to_string(p).map_err(|e| Error::Io { path: p.clone(), source: e })?;
            feedback_triage::model::ModelFile::parse(&data, &p.display().to_string())?.sentiment
        }
        None => train::train_sentiment_layer(&opts)?,
    };
    if let Some(k) = a.cv {
        let oof = train::cross_validate(&opts, &sentiment_layer, k)?;
        // Scored on real feedback only (gold and corpus-row labels), not on our
        // written or weak items, so it estimates accuracy on data like the users'.
        let real: Vec<_> = oof.iter().filter(|o| train::is_real_feedback(&o.id)).collect();
        let gold: Vec<train::GoldItem> = real
            .iter()
            .map(|o| train::GoldItem { id: String::new(), text: String::new(), category: o.gold.as_str().into(), labels: vec![], opinions: vec![], weight: 1 })
            .collect();
        let preds: Vec<Prediction> = real.iter().map(|o| Prediction { category: Some(o.predicted), keywords: vec![] }).collect();
        eprintln!("triage: {k}-fold cross-validation, scored on the {} real-feedback items:\n{}", real.len(), evaluate(&gold, &preds));
        // The same out-of-fold probabilities decided at other blend weights: how --primary-blend is chosen.
        for tenths in 0..=8u8 {
            let rule = DecisionRule { blend: f32::from(tenths) / 10.0, thresholds: opts.presence_thresholds };
            let preds: Vec<Prediction> =
                real.iter().map(|o| Prediction { category: Some(rule.decide(&o.presence, &o.multinomial).primary), keywords: vec![] }).collect();
            let r = evaluate(&gold, &preds);
            eprintln!("triage:   primary blend {:.1}: accuracy {:.4}, macro-F1 {:.4}", rule.blend, r.accuracy, r.macro_f1);
        }
        if let Some(path) = &a.cv_predictions {
            let mut out = AtomicOutput::create(Some(path))?;
            for o in &oof {
                let line = serde_json::json!({
                    "id": o.id, "gold": o.gold.as_str(), "gold_present": o.gold_present, "predicted": o.predicted.as_str(),
                    "presence": o.presence, "multinomial": o.multinomial,
                });
                out.write_all(format!("{line}\n").as_bytes())?;
            }
            out.commit()?;
        }
    }
    let model = train::train(&opts, Some(sentiment_layer))?;
    let mut out = AtomicOutput::create(Some(&a.output))?;
    out.write_all(model.to_json().as_bytes())?;
    out.commit()?;
    eprintln!("triage: wrote {}", a.output.display());
    Ok(ExitCode::SUCCESS)
}

fn report_cmd(a: ReportArgs) -> Result<ExitCode, Error> {
    let built = report::report_from_files(&a.input, a.rejects.as_deref(), a.previous.as_deref(), &a.output)?;
    eprintln!("triage: report of {} analysed / {} rejected written to {}", built.analysed(), built.rejected(), a.output.display());
    Ok(ExitCode::SUCCESS)
}

fn eval_cmd(a: EvalArgs) -> Result<ExitCode, Error> {
    let pipeline = load_pipeline(a.model.as_deref())?;
    let gold = match &a.corpora {
        Some(dir) => train::load_label_refs(&a.gold, &train::Corpora::open(dir)?)?,
        None => train::load_gold(&a.gold)?,
    };
    let records: Vec<FeedbackRecord> = gold.iter().map(|g| FeedbackRecord { id: Some(g.id.clone()), ..FeedbackRecord::new(g.text.clone()) }).collect();
    let analyses = pipeline.analyze_batch(&records);
    let predictions: Vec<Prediction> = analyses
        .iter()
        .map(|r| match r {
            Ok(a) => Prediction { category: Some(a.category), keywords: a.keywords.clone() },
            Err(_) => Prediction { category: None, keywords: Vec::new() },
        })
        .collect();
    if let Some(path) = &a.predictions {
        let mut out = AtomicOutput::create(Some(path))?;
        for (rec, r) in records.iter().zip(&analyses) {
            if let Ok(an) = r {
                let obj = feedback_triage::output::output_object(rec, an, pipeline.normalizer());
                out.write_all(format!("{}\n", serde_json::Value::Object(obj)).as_bytes())?;
            }
        }
        out.commit()?;
    }
    print!("{}", evaluate(&gold, &predictions));
    Ok(ExitCode::SUCCESS)
}
