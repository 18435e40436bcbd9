//! Spreadsheets: Excel (.xlsx, .xlsm, .xlsb, .xls) and OpenDocument (.ods), read
//! with calamine. Feedback teams export reviews from shop back ends and ticket
//! systems as workbooks, often with a title row above the header; the sheet is
//! read like a CSV file whose header is the first row (of the first ten) that has
//! a `text` cell, in the first sheet that has one.
//!
//! A sheet is read whole (calamine has no row stream for every format); Excel
//! caps a sheet at 1,048,576 rows, which bounds the memory.

use std::io::Cursor;

use calamine::{Data, ExcelDateTime, Range, Reader};
use serde_json::Map;

use super::{object_from_fields, record_from_object, ColumnMap, Reject, Row};

/// How far below the top of a sheet the header row may sit (title rows above it).
const HEADER_SEARCH_ROWS: usize = 10;

/// The data rows of one sheet, below its header.
pub(super) struct SheetRows {
    /// `file[sheet]`, the file part of every reject's location.
    location: String,
    range: Range<Data>,
    headers: Vec<String>,
    text_col: usize,
    /// The next row to read, relative to the range's first row.
    next: usize,
}

/// Opens the workbook in `bytes` and finds its feedback sheet; a reject (line 1)
/// says why there is none.
pub(super) fn open(file: &str, bytes: Vec<u8>, columns: &ColumnMap) -> Result<SheetRows, Reject> {
    // calamine parses untrusted binary formats (BIFF .xls above all). 20,000
    // mutated workbooks did not make it panic, but a parser bug must still end as
    // a reject, never as a crashed run: every row would be lost.
    let parse = std::panic::AssertUnwindSafe(|| open_unguarded(file, bytes, columns));
    std::panic::catch_unwind(parse)
        .unwrap_or_else(|_| Err(Reject { file: file.to_string(), line: 1, reason: "the spreadsheet parser failed on this file".into(), raw: String::new() }))
}

fn open_unguarded(file: &str, bytes: Vec<u8>, columns: &ColumnMap) -> Result<SheetRows, Reject> {
    let fail = |reason: String| Reject { file: file.to_string(), line: 1, reason, raw: String::new() };
    let mut workbook =
        calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| fail(format!("not a readable spreadsheet (xlsx, xlsm, xlsb, xls, ods): {e}")))?;
    let names = workbook.sheet_names();
    // A sheet that cannot be read is skipped, but named if no other sheet serves:
    // it may be the one that held the feedback.
    let mut unreadable = Vec::new();
    for name in &names {
        let range = match workbook.worksheet_range(name) {
            Ok(range) => range,
            Err(e) => {
                unreadable.push(format!("{name}: {e}"));
                continue;
            }
        };
        let is_text = |c: &Data| columns.field_name(cell_text(c).trim()) == "text";
        let header_row = range.rows().take(HEADER_SEARCH_ROWS).position(|row| row.iter().any(is_text));
        let Some(header_row) = header_row else { continue };
        let headers: Vec<String> =
            (0..range.width()).map(|c| columns.field_name(range.get((header_row, c)).map(cell_text).unwrap_or_default().trim()).into_owned()).collect();
        let text_col = headers.iter().position(|h| h == "text").unwrap_or_default();
        return Ok(SheetRows { location: format!("{file}[{name}]"), range, headers, text_col, next: header_row + 1 });
    }
    let unreadable = if unreadable.is_empty() { String::new() } else { format!("; unreadable: {}", unreadable.join("; ")) };
    Err(fail(format!(
        "no sheet has a `text` column in its first {HEADER_SEARCH_ROWS} rows (sheets: {}{unreadable}); {}",
        names.join(", "),
        super::NO_TEXT_COLUMN
    )))
}

impl SheetRows {
    /// The next data row; rows with no value at all are skipped, as blank lines are.
    pub(super) fn next_row(&mut self) -> Option<Row> {
        loop {
            let rel = self.next;
            if rel >= self.range.height() {
                return None;
            }
            self.next += 1;
            let cells: Vec<&Data> = (0..self.range.width()).map(|c| self.range.get((rel, c)).unwrap_or(&Data::Empty)).collect();
            let fields: Vec<String> = cells.iter().map(|c| cell_text(c)).collect();
            if fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            // The row number Excel shows: 1-based, counted from the sheet's top.
            let line = self.range.start().map_or(0, |(row, _)| row as u64) + rel as u64 + 1;
            if let Data::Error(e) = cells[self.text_col] {
                let raw = serde_json::Value::Object(object_from_fields(&self.headers, fields)).to_string();
                return Some(Row::Rejected(Reject {
                    file: self.location.clone(),
                    line,
                    reason: format!("the `text` cell holds the spreadsheet error {e}"),
                    raw,
                }));
            }
            let obj: Map<_, _> = object_from_fields(&self.headers, fields);
            return Some(record_from_object(obj, &self.location, line));
        }
    }
}

/// A cell as the text a CSV export of it would hold: whole numbers without a
/// fraction (an id of 1001 is "1001", not "1001.0"), dates as ISO 8601 (the form
/// the report reads; Excel stores them as day counts), errors as Excel shows them.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::DateTime(d) if d.is_datetime() => iso_datetime(d),
        other => other.to_string(),
    }
}

fn iso_datetime(d: &ExcelDateTime) -> String {
    let (year, month, day, hour, minute, second, _) = d.to_ymd_hms_milli();
    if (hour, minute, second) == (0, 0, 0) {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
    }
}
