//! Writing analysed records: JSONL (the full contract), or CSV/TSV or an Excel
//! workbook ([`sheet`]) (a flat view for spreadsheets). Files are written
//! atomically: to a temporary file beside the target, renamed into place only
//! when the run completes, so a killed run never leaves a half-written file that
//! looks complete.

mod sheet;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::input::Format;
use crate::normalize::Normalizer;
use crate::record::{Analysis, FeedbackRecord};

/// Input fields that carry labels in LABELING.md's format.
const INPUT_LABEL_FIELDS: [&str; 5] = ["category", "labels", "opinions", "keywords", "priority"];

/// The output object of one record: the input's fields (text and other string
/// fields masked), then the analysis fields, which win on a name clash.
pub fn output_object(record: &FeedbackRecord, analysis: &Analysis, normalizer: &Normalizer) -> Map<String, Value> {
    let mut obj = Map::new();
    let mask = |v: &Value| match v {
        Value::String(s) => Value::String(normalizer.mask(s).into_owned()),
        other => other.clone(),
    };
    obj.insert("id".into(), Value::String(analysis.id.clone()));
    obj.insert("text".into(), Value::String(analysis.text.clone()));
    for (k, v) in [("customer_tier", &record.customer_tier), ("channel", &record.channel), ("created_at", &record.created_at)] {
        if let Some(v) = v {
            obj.insert(k.into(), Value::String(normalizer.mask(v).into_owned()));
        }
    }
    if let Some(v) = record.customer_value.and_then(serde_json::Number::from_f64) {
        obj.insert("customer_value".into(), Value::Number(v));
    }
    // Labels that came with the input (a gold file's category/labels/opinions)
    // are kept, but under `input_labels`: beside our own fields they would be
    // mistaken for predictions (score.py reads `opinions` when `keywords` is empty).
    let mut input_labels = Map::new();
    for (k, v) in &record.extra {
        if INPUT_LABEL_FIELDS.contains(&k.as_str()) {
            input_labels.insert(k.clone(), mask(v));
        } else {
            obj.insert(k.clone(), mask(v));
        }
    }
    if !input_labels.is_empty() {
        obj.insert("input_labels".into(), Value::Object(input_labels));
    }
    if let Ok(Value::Object(a)) = serde_json::to_value(analysis) {
        for (k, v) in a {
            obj.insert(k, v);
        }
    }
    obj
}

/// A destination written atomically (or standard output, or a device or pipe).
pub struct AtomicOutput {
    target: Option<PathBuf>,
    temp: Option<tempfile::NamedTempFile>,
    writer: BufWriter<Box<dyn Write + Send>>,
}

impl AtomicOutput {
    /// `None` or `-` = standard output.
    pub fn create(path: Option<&Path>) -> Result<Self> {
        match path {
            None => Ok(Self::stdout()),
            Some(p) if p == Path::new("-") => Ok(Self::stdout()),
            // A device, pipe or socket (/dev/null, a FIFO another process reads):
            // there is no half-written file to avoid, and renaming a finished
            // file over it would replace the device itself (as root, /dev/null
            // became a plain file). Such targets are written to directly.
            Some(p) if std::fs::metadata(p).is_ok_and(|m| !m.is_file()) => {
                let file = std::fs::OpenOptions::new().write(true).open(p).map_err(|e| Error::io(p, e))?;
                Ok(AtomicOutput { target: Some(p.to_path_buf()), temp: None, writer: BufWriter::with_capacity(1 << 16, Box::new(file)) })
            }
            Some(p) => {
                let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
                let temp = tempfile::Builder::new().prefix(".triage-partial-").tempfile_in(dir).map_err(|e| Error::io(p, e))?;
                let file = temp.reopen().map_err(|e| Error::io(p, e))?;
                Ok(AtomicOutput { target: Some(p.to_path_buf()), temp: Some(temp), writer: BufWriter::with_capacity(1 << 20, Box::new(file)) })
            }
        }
    }

    fn stdout() -> Self {
        AtomicOutput { target: None, temp: None, writer: BufWriter::with_capacity(1 << 16, Box::new(std::io::stdout())) }
    }

    fn path(&self) -> PathBuf {
        self.target.clone().unwrap_or_else(|| PathBuf::from("<stdout>"))
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let path = self.path();
        self.writer.write_all(bytes).map_err(|e| Error::io(path, e))
    }

    /// Flushes and renames the file into place (a device or pipe is only flushed).
    pub fn commit(mut self) -> Result<()> {
        let path = self.path();
        self.writer.flush().map_err(|e| Error::io(&path, e))?;
        if let (Some(temp), Some(target)) = (self.temp.take(), self.target.take()) {
            // Temporary files are created private (0600); the result is an
            // ordinary file, readable as any other output (0644).
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = temp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644));
            }
            temp.as_file().sync_all().map_err(|e| Error::io(&target, e))?;
            temp.persist(&target).map_err(|e| Error::io(&target, e.error))?;
        }
        Ok(())
    }
}

/// One record's output line in `format`: the JSON object of [`output_object`],
/// or a flat CSV/TSV row of [`FLAT_COLUMNS`] (without the header). Pure, so batch
/// runs encode on worker threads.
pub fn encode_record(format: Format, record: &FeedbackRecord, analysis: &Analysis, normalizer: &Normalizer) -> Result<Vec<u8>> {
    let encode_error = |e: std::io::Error| Error::io("<output>", e);
    match format {
        Format::Jsonl => {
            let obj = output_object(record, analysis, normalizer);
            let mut line = serde_json::to_vec(&obj).map_err(|e| encode_error(e.into()))?;
            line.push(b'\n');
            Ok(line)
        }
        Format::Csv | Format::Tsv => {
            let mut w = csv::WriterBuilder::new().delimiter(format.csv_delimiter()).from_writer(Vec::new());
            w.write_record(flat_row(record, analysis, normalizer)).map_err(|e| encode_error(e.into()))?;
            w.into_inner().map_err(|e| encode_error(e.into_error()))
        }
        // A JSON array of the flat fields, one per line: the writer thread turns
        // it into a sheet row.
        Format::Xlsx => {
            let mut line = serde_json::to_vec(&flat_row(record, analysis, normalizer)).map_err(|e| encode_error(e.into()))?;
            line.push(b'\n');
            Ok(line)
        }
    }
}

/// One record's fields in the order of [`FLAT_COLUMNS`].
fn flat_row(record: &FeedbackRecord, analysis: &Analysis, normalizer: &Normalizer) -> [String; FLAT_COLUMNS.len()] {
    let triage = analysis.triage.as_ref();
    let labels: Vec<&str> = analysis.labels.iter().map(|c| c.as_str()).collect();
    let keywords: Vec<&str> = analysis.keywords.iter().map(|k| k.text.as_str()).collect();
    let masked = |v: &Option<String>| v.as_deref().map(|s| normalizer.mask(s).into_owned()).unwrap_or_default();
    [
        analysis.id.clone(),
        analysis.category.as_str().to_string(),
        format!("{:.4}", analysis.confidence),
        labels.join("|"),
        keywords.join("|"),
        triage.map(|t| format!("{:.4}", t.priority.score)).unwrap_or_default(),
        triage.map(|t| format!("{:?}", t.priority.level).to_lowercase()).unwrap_or_default(),
        triage.map(|t| format!("{:?}", t.urgency).to_lowercase()).unwrap_or_default(),
        triage.map(|t| t.respond_within_minutes.to_string()).unwrap_or_default(),
        triage.map(|t| t.department.clone()).unwrap_or_default(),
        masked(&record.customer_tier),
        masked(&record.channel),
        masked(&record.created_at),
        analysis.text.clone(),
    ]
}

/// Writes analysed records in one format.
pub struct RecordWriter {
    out: AtomicOutput,
    format: Format,
    header_written: bool,
    /// Begin a CSV/TSV file with a UTF-8 byte-order mark (see [`RecordWriter::with_bom`]).
    bom: bool,
    /// The workbook being built, for [`Format::Xlsx`].
    sheet: Option<sheet::SheetWriter>,
}

/// Columns of the flat CSV/TSV view.
pub const FLAT_COLUMNS: [&str; 14] = [
    "id",
    "category",
    "confidence",
    "labels",
    "keywords",
    "priority_score",
    "priority_level",
    "urgency",
    "respond_within_minutes",
    "department",
    "customer_tier",
    "channel",
    "created_at",
    "text",
];

impl RecordWriter {
    pub fn new(out: AtomicOutput, format: Format) -> Result<Self> {
        let sheet = (format == Format::Xlsx).then(|| sheet::SheetWriter::new(&FLAT_COLUMNS)).transpose()?;
        Ok(RecordWriter { out, format, header_written: false, bom: false, sheet })
    }

    /// Begins CSV/TSV output with a UTF-8 byte-order mark. Excel opens a CSV file
    /// without one in the local code page (GBK on Chinese Windows) and garbles every
    /// Chinese character; with one it reads UTF-8. Off by default: scripts and
    /// `cut`/`awk` would see the mark as part of the first column's name. A mark
    /// is meaningless in JSONL (RFC 8259 forbids it) and in a workbook, so other
    /// formats refuse it.
    pub fn with_bom(mut self, bom: bool) -> Result<Self> {
        if bom && !matches!(self.format, Format::Csv | Format::Tsv) {
            return Err(Error::Config {
                origin: "command line".into(),
                key: "--bom".into(),
                reason: format!("a byte-order mark applies to csv and tsv output, not {:?}", self.format).to_lowercase(),
            });
        }
        self.bom = bom;
        Ok(self)
    }

    /// Writes one record encoded by [`encode_record`] in this writer's format
    /// (the CSV/TSV header goes first).
    pub fn write_encoded(&mut self, encoded: &[u8]) -> Result<()> {
        if let Some(sheet) = &mut self.sheet {
            let fields: Vec<String> = serde_json::from_slice(encoded).map_err(|e| Error::io(self.out.path(), e.into()))?;
            return sheet.write_row(&fields);
        }
        if !self.header_written && self.format != Format::Jsonl {
            if self.bom {
                self.out.write_all("\u{feff}".as_bytes())?;
            }
            let mut w = csv::WriterBuilder::new().delimiter(self.format.csv_delimiter()).from_writer(Vec::new());
            let _ = w.write_record(FLAT_COLUMNS);
            let header = w.into_inner().map_err(|e| Error::io(self.out.path(), e.into_error()))?;
            self.out.write_all(&header)?;
        }
        self.header_written = true;
        self.out.write_all(encoded)
    }

    pub fn commit(mut self) -> Result<()> {
        if let Some(sheet) = self.sheet.take() {
            sheet.finish(&mut self.out)?;
        }
        self.out.commit()
    }
}
