//! Reading feedback files: JSONL, CSV and TSV, in UTF-8 or GB18030/GBK (Chinese
//! Excel exports), streamed row by row, and spreadsheets ([`sheet`]). A row that
//! cannot be read becomes a [`Reject`] naming the file, line and reason; it never
//! stops the stream.

mod columns;
mod sheet;
mod xlsx_stream;

pub use columns::ColumnMap;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::record::FeedbackRecord;

/// Why a header is refused, with the way out.
const NO_TEXT_COLUMN: &str = "header has no `text` column (name the column that holds the feedback with `--column text=NAME`)";

/// A line longer than this is rejected without being held in memory.
pub const MAX_LINE_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
    Tsv,
    /// A workbook: read from Excel .xlsx/.xlsm/.xlsb/.xls or OpenDocument .ods (the
    /// kind is told by the content), written as .xlsx.
    #[value(alias = "xls", alias = "ods", alias = "excel")]
    Xlsx,
}

impl Format {
    /// Guesses the format from a file name (`.csv`, `.tsv`/`.tab`, a spreadsheet
    /// extension, else JSONL).
    pub fn from_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("csv") => Format::Csv,
            Some("tsv") | Some("tab") => Format::Tsv,
            Some("xlsx" | "xlsm" | "xlsb" | "xls" | "ods") => Format::Xlsx,
            _ => Format::Jsonl,
        }
    }

    /// The field delimiter of a delimited format (a tab for TSV, else a comma).
    pub fn csv_delimiter(self) -> u8 {
        if self == Format::Tsv {
            b'\t'
        } else {
            b','
        }
    }
}

/// A row that could not be turned into a record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub reason: String,
    /// The raw row as far as it could be decoded (personal data masked by the caller).
    pub raw: String,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// One input row: a record with its line number, or a reject.
#[derive(Debug, Clone)]
pub enum Row {
    Record { line: u64, record: FeedbackRecord },
    Rejected(Reject),
}

/// Decodes bytes as UTF-8, else as GB18030 (a superset of GBK); `None` if neither fits.
pub fn decode(bytes: &[u8]) -> Option<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Some(s.to_string());
    }
    let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    (!had_errors).then(|| text.into_owned())
}

/// Streams the rows of one input.
pub struct RecordReader {
    name: String,
    inner: Inner,
    columns: ColumnMap,
}

enum Inner {
    Jsonl { reader: Box<dyn BufRead + Send>, line: u64, buf: Vec<u8> },
    Delimited { reader: csv::Reader<Box<dyn Read + Send>>, headers: Vec<String> },
    Sheet(sheet::SheetRows),
    Failed(Option<Reject>),
}

impl RecordReader {
    /// Opens `path` (`None` or `-` = standard input) in `format`, reading columns
    /// as `columns` maps them.
    pub fn open(path: Option<&Path>, format: Format, columns: ColumnMap) -> Result<Self> {
        let (name, reader): (String, Box<dyn Read + Send>) = match path {
            None => ("<stdin>".into(), Box::new(std::io::stdin())),
            Some(p) if p == Path::new("-") => ("<stdin>".into(), Box::new(std::io::stdin())),
            Some(p) => (p.display().to_string(), Box::new(File::open(p).map_err(|e| Error::io(p, e))?)),
        };
        Ok(Self::from_reader(name, reader, format, columns))
    }

    /// Reads rows from any byte stream; `name` labels errors.
    pub fn from_reader(name: String, mut reader: Box<dyn Read + Send>, format: Format, columns: ColumnMap) -> Self {
        let inner = match format {
            Format::Xlsx => {
                let mut bytes = Vec::new();
                match reader.read_to_end(&mut bytes) {
                    Ok(_) => sheet::open(&name, bytes, &columns).map_or_else(|r| Inner::Failed(Some(r)), Inner::Sheet),
                    Err(e) => Inner::Failed(Some(Reject { file: name.clone(), line: 1, reason: format!("read error: {e}"), raw: String::new() })),
                }
            }
            Format::Jsonl => Inner::Jsonl { reader: Box::new(BufReader::with_capacity(1 << 16, reader)), line: 0, buf: Vec::new() },
            Format::Csv | Format::Tsv => {
                let mut rdr = csv::ReaderBuilder::new().delimiter(format.csv_delimiter()).flexible(true).has_headers(false).from_reader(reader);
                let mut first = csv::ByteRecord::new();
                match rdr.read_byte_record(&mut first) {
                    Ok(true) => {
                        let headers: Option<Vec<String>> = first.iter().map(decode).collect();
                        match headers {
                            Some(h) => {
                                let h: Vec<String> = h.iter().map(|s| columns.field_name(s.trim()).into_owned()).collect();
                                match h.iter().any(|c| c == "text") {
                                    true => Inner::Delimited { reader: rdr, headers: h },
                                    false => Inner::Failed(Some(Reject { file: name.clone(), line: 1, reason: NO_TEXT_COLUMN.into(), raw: h.join(",") })),
                                }
                            }
                            None => Inner::Failed(Some(Reject {
                                file: name.clone(),
                                line: 1,
                                reason: "header is neither UTF-8 nor GB18030".into(),
                                raw: String::new(),
                            })),
                        }
                    }
                    Ok(false) => Inner::Failed(None),
                    Err(e) => Inner::Failed(Some(Reject { file: name.clone(), line: 1, reason: format!("unreadable header: {e}"), raw: String::new() })),
                }
            }
        };
        RecordReader { name, inner, columns }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

fn reject(file: &str, line: u64, reason: impl Into<String>, raw: impl Into<String>) -> Row {
    Row::Rejected(Reject { file: file.to_string(), line, reason: reason.into(), raw: raw.into() })
}

impl Iterator for RecordReader {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        let name = self.name.clone();
        match &mut self.inner {
            Inner::Failed(r) => r.take().map(Row::Rejected),
            Inner::Sheet(rows) => rows.next_row(),
            Inner::Jsonl { reader, line, buf } => loop {
                buf.clear();
                *line += 1;
                let n = *line;
                match read_bounded_line(reader.as_mut(), buf) {
                    Ok(LineRead::Eof) => return None,
                    Ok(LineRead::TooLong(len)) => return Some(reject(&name, n, format!("line of {len} bytes exceeds the {MAX_LINE_BYTES}-byte limit"), "")),
                    Ok(LineRead::Line) => {}
                    Err(e) => return Some(Row::Rejected(Reject { file: name, line: n, reason: format!("read error: {e}"), raw: String::new() })),
                }
                let Some(text) = decode(buf) else {
                    return Some(reject(&name, n, "not valid UTF-8 or GB18030", String::from_utf8_lossy(buf).into_owned()));
                };
                let trimmed = text.trim();
                if trimmed.is_empty() {
                    continue; // blank lines separate nothing; they are not rows
                }
                return Some(match serde_json::from_str::<Value>(trimmed) {
                    Ok(Value::Object(obj)) if self.columns.is_empty() => record_from_object(obj, &name, n),
                    Ok(Value::Object(obj)) => {
                        let renamed = obj.into_iter().map(|(k, v)| (self.columns.field_name(&k).into_owned(), v)).collect();
                        record_from_object(renamed, &name, n)
                    }
                    Ok(_) => reject(&name, n, "not a JSON object", trimmed),
                    Err(e) => reject(&name, n, format!("not JSON: {e}"), trimmed),
                });
            },
            Inner::Delimited { reader, headers } => {
                let mut rec = csv::ByteRecord::new();
                match reader.read_byte_record(&mut rec) {
                    Ok(false) => None,
                    Err(e) => {
                        let line = e.position().map_or(0, |p| p.line());
                        Some(Row::Rejected(Reject { file: name, line, reason: format!("malformed row: {e}"), raw: String::new() }))
                    }
                    Ok(true) => {
                        let line = rec.position().map_or(0, |p| p.line());
                        let fields: Option<Vec<String>> = rec.iter().map(decode).collect();
                        let Some(fields) = fields else {
                            return Some(reject(&name, line, "not valid UTF-8 or GB18030", String::from_utf8_lossy(rec.as_slice()).into_owned()));
                        };
                        if fields.len() != headers.len() {
                            return Some(reject(&name, line, format!("expected {} fields, found {}", headers.len(), fields.len()), fields.join(",")));
                        }
                        Some(record_from_object(object_from_fields(headers, fields), &name, line))
                    }
                }
            }
        }
    }
}

/// The object of a delimited or spreadsheet row: each named column's field, as a
/// string but for `customer_value`, which is a number when it reads as one.
fn object_from_fields(headers: &[String], fields: Vec<String>) -> Map<String, Value> {
    let mut obj = Map::new();
    for (h, f) in headers.iter().zip(fields) {
        if h.is_empty() {
            continue;
        }
        obj.insert(h.clone(), if h == "customer_value" { number_or_string(&f) } else { Value::String(f) });
    }
    obj
}

fn number_or_string(s: &str) -> Value {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null),
        _ if s.trim().is_empty() => Value::Null,
        _ => Value::String(s.to_string()),
    }
}

/// Builds a record from a JSON object, with clear reasons for what is wrong.
fn record_from_object(mut obj: Map<String, Value>, file: &str, line: u64) -> Row {
    let reject =
        |reason: String, obj: &Map<String, Value>| Row::Rejected(Reject { file: file.into(), line, reason, raw: Value::Object(obj.clone()).to_string() });
    let text = match obj.remove("text") {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => return reject("missing `text` field".into(), &obj),
        Some(other) => return reject(format!("`text` is not a string: {other}"), &obj),
    };
    if text.trim().is_empty() {
        obj.insert("text".into(), Value::String(text));
        return reject("empty text".into(), &obj);
    }
    let take_string = |obj: &mut Map<String, Value>, key: &str| match obj.remove(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let id = take_string(&mut obj, "id");
    let customer_tier = take_string(&mut obj, "customer_tier");
    let channel = take_string(&mut obj, "channel");
    let created_at = take_string(&mut obj, "created_at");
    let customer_value = match obj.remove("customer_value") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(v) => Some(v),
            Err(_) if s.trim().is_empty() => None,
            Err(_) => return reject(format!("`customer_value` is not a number: {s:?}"), &obj),
        },
        _ => None,
    };
    Row::Record { line, record: FeedbackRecord { id, text, customer_tier, customer_value, channel, created_at, extra: obj } }
}

enum LineRead {
    Line,
    Eof,
    TooLong(usize),
}

/// Reads one line into `buf` (without the newline), but never holds more than
/// `MAX_LINE_BYTES`: the rest of an overlong line is skipped.
fn read_bounded_line(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> std::io::Result<LineRead> {
    let mut total = 0usize;
    let mut any = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(if !any {
                LineRead::Eof
            } else if total > MAX_LINE_BYTES {
                LineRead::TooLong(total)
            } else {
                LineRead::Line
            });
        }
        any = true;
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        total += chunk.len();
        if total <= MAX_LINE_BYTES {
            buf.extend_from_slice(chunk);
        } else {
            buf.clear();
        }
        let consumed = done.unwrap_or(available.len());
        reader.consume(consumed);
        if done.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(if total > MAX_LINE_BYTES { LineRead::TooLong(total) } else { LineRead::Line });
        }
    }
}

/// Counts the rows of an input file cheaply (lines for JSONL, records for CSV), for
/// progress ETA. `None` for standard input, and for a spreadsheet, which would
/// have to be read whole to count.
pub fn count_rows(path: &Path, format: Format) -> Option<u64> {
    let file = File::open(path).ok()?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    match format {
        Format::Jsonl => {
            let mut n = 0u64;
            loop {
                let buf = reader.fill_buf().ok()?;
                if buf.is_empty() {
                    return Some(n);
                }
                n += buf.iter().filter(|&&b| b == b'\n').count() as u64;
                let len = buf.len();
                reader.consume(len);
            }
        }
        Format::Csv | Format::Tsv => {
            let mut rdr = csv::ReaderBuilder::new().delimiter(format.csv_delimiter()).flexible(true).from_reader(reader);
            let mut rec = csv::ByteRecord::new();
            let mut n = 0u64;
            while rdr.read_byte_record(&mut rec).unwrap_or(false) {
                n += 1;
            }
            Some(n)
        }
        Format::Xlsx => None,
    }
}
