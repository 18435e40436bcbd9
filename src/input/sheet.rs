//! Spreadsheets: Excel (.xlsx, .xlsm, .xlsb, .xls) and OpenDocument (.ods), read
//! with calamine. Feedback teams export reviews from shop back ends and ticket
//! systems as workbooks, often with a title row above the header; the sheet is
//! read like a CSV file whose header is the first row (of the first ten) that has
//! a `text` cell, in the first sheet that has one.
//!
//! xlsx and xlsm sheets are streamed ([`super::xlsx_stream`]); the other
//! formats are read whole.

use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, ExcelDateTime, Range, Reader};
use serde_json::Map;

use super::xlsx_stream::{self, SheetRow, StreamedRows};
use super::{object_from_fields, record_from_object, ColumnMap, Reject, Row};

/// How far below the top of a sheet the header row may sit (title rows above it).
pub(super) const HEADER_SEARCH_ROWS: usize = 10;

/// The data rows of one sheet, below its header.
pub(super) struct SheetRows {
    /// `file[sheet]`, the file part of every reject's location.
    location: String,
    headers: Vec<String>,
    text_col: usize,
    source: Source,
}

enum Source {
    /// xlsx and xlsm, streamed.
    Streamed(StreamedRows),
    /// xls, xlsb and ods, read whole: calamine streams only xlsx. Excel caps a
    /// sheet at 1,048,576 rows, which bounds the memory.
    Whole {
        range: Range<Data>,
        /// The next row to read, relative to the range's first row.
        next: usize,
    },
}

/// Opens the workbook in `bytes` and finds its feedback sheet; a reject (line 1)
/// says why there is none.
pub(super) fn open(file: &str, bytes: Vec<u8>, columns: &ColumnMap) -> Result<SheetRows, Reject> {
    // calamine parses untrusted binary formats (BIFF .xls above all). 20,000
    // mutated workbooks did not make it panic, but a parser bug must still end as
    // a reject, never as a crashed run: every row would be lost. (A panic in the
    // streaming worker thread is caught when it is joined.)
    let parse = std::panic::AssertUnwindSafe(|| open_unguarded(file, bytes, columns));
    std::panic::catch_unwind(parse).unwrap_or_else(|_| Err(file_reject(file, "the spreadsheet parser failed on this file".into())))
}

/// A reject of the whole file, located at its first line.
fn file_reject(file: &str, reason: String) -> Reject {
    Reject { file: file.to_string(), line: 1, reason, raw: String::new() }
}

fn open_unguarded(file: &str, bytes: Vec<u8>, columns: &ColumnMap) -> Result<SheetRows, Reject> {
    let bytes: Arc<[u8]> = bytes.into();
    match xlsx_stream::open(bytes.clone(), columns) {
        Some(Ok(opened)) => Ok(SheetRows::new(file, &opened.sheet, &opened.header, columns, Source::Streamed(opened.rows))),
        Some(Err(reason)) => Err(file_reject(file, reason)),
        None => open_whole(file, bytes, columns),
    }
}

fn open_whole(file: &str, bytes: Arc<[u8]>, columns: &ColumnMap) -> Result<SheetRows, Reject> {
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| file_reject(file, format!("not a readable spreadsheet (xlsx, xlsm, xlsb, xls, ods): {e}")))?;
    let names = workbook.sheet_names();
    let mut unreadable = Vec::new();
    for name in &names {
        let range = match workbook.worksheet_range(name) {
            Ok(range) => range,
            Err(e) => {
                unreadable.push(format!("{name}: {e}"));
                continue;
            }
        };
        let Some(at) = header_row(range.rows(), columns) else { continue };
        let header = range.rows().nth(at).map(<[Data]>::to_vec).unwrap_or_default();
        return Ok(SheetRows::new(file, name, &header, columns, Source::Whole { range, next: at + 1 }));
    }
    Err(file_reject(file, no_sheet_reason(&names, &unreadable)))
}

/// Which of a sheet's top rows is its header: the first with a `text` cell.
pub(super) fn header_row<'a>(rows: impl Iterator<Item = &'a [Data]>, columns: &ColumnMap) -> Option<usize> {
    rows.take(HEADER_SEARCH_ROWS).position(|row| row.iter().any(|c| columns.field_name(cell_text(c).trim()) == "text"))
}

/// Why no sheet was read. A sheet that cannot be read is skipped, but named:
/// it may be the one that held the feedback.
pub(super) fn no_sheet_reason(names: &[String], unreadable: &[String]) -> String {
    let unreadable = if unreadable.is_empty() { String::new() } else { format!("; unreadable: {}", unreadable.join("; ")) };
    format!("no sheet has a `text` column in its first {HEADER_SEARCH_ROWS} rows (sheets: {}{unreadable}); {}", names.join(", "), super::NO_TEXT_COLUMN)
}

impl Source {
    fn next_row(&mut self) -> Option<Result<SheetRow, (u64, String)>> {
        match self {
            Source::Streamed(rows) => rows.next_row(),
            Source::Whole { range, next } => {
                let rel = *next;
                if rel >= range.height() {
                    return None;
                }
                *next += 1;
                // The row number Excel shows: 1-based, counted from the sheet's top.
                let line = range.start().map_or(0, |(row, _)| row as u64) + rel as u64 + 1;
                // Indexed, not `rows().nth(rel)`: calamine's row iterator has no
                // `nth` of its own, so that walked every row above, per row.
                let cells = (0..range.width()).map(|c| range.get((rel, c)).cloned().unwrap_or(Data::Empty)).collect();
                Some(Ok((line, cells)))
            }
        }
    }
}

impl SheetRows {
    fn new(file: &str, sheet: &str, header: &[Data], columns: &ColumnMap, source: Source) -> SheetRows {
        let headers: Vec<String> = header.iter().map(|c| columns.field_name(cell_text(c).trim()).into_owned()).collect();
        let text_col = headers.iter().position(|h| h == "text").unwrap_or_default();
        SheetRows { location: format!("{file}[{sheet}]"), headers, text_col, source }
    }

    /// The next data row; rows with no value at all are skipped, as blank lines are.
    pub(super) fn next_row(&mut self) -> Option<Row> {
        loop {
            let (line, cells) = match self.source.next_row()? {
                Ok(row) => row,
                Err((line, reason)) => return Some(Row::Rejected(Reject { file: self.location.clone(), line, reason, raw: String::new() })),
            };
            // A streamed row ends at its last value; cells past it are empty.
            let fields: Vec<String> = (0..self.headers.len().max(cells.len())).map(|c| cells.get(c).map(cell_text).unwrap_or_default()).collect();
            if fields.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            if let Some(Data::Error(e)) = cells.get(self.text_col) {
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

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use rust_xlsxwriter::Workbook;

    use super::*;

    /// Every row of a sheet, as text: `Row` holds no `PartialEq`.
    fn read_all(mut rows: SheetRows) -> Vec<String> {
        std::iter::from_fn(|| rows.next_row()).map(|row| format!("{row:?}")).collect()
    }

    /// A title row, a blank row, the header on row 3, then 40 rows: some with a
    /// trailing empty cell, one blank, one with an empty text.
    fn workbook() -> Vec<u8> {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "评价导出").unwrap();
        for (col, name) in ["id", "text", "note"].iter().enumerate() {
            sheet.write_string(2, col as u16, *name).unwrap();
        }
        for i in 0..40u32 {
            let row = 3 + i;
            if i == 15 {
                continue;
            }
            sheet.write_number(row, 0, f64::from(i)).unwrap();
            sheet.write_string(row, 1, if i == 20 { " " } else { "物流太慢了" }).unwrap();
            if i % 3 == 0 {
                sheet.write_string(row, 2, "备注").unwrap();
            }
        }
        book.save_to_buffer().unwrap()
    }

    #[test]
    fn a_streamed_sheet_reads_the_same_rows_as_the_whole_sheet() {
        let bytes = workbook();
        let streamed = open("t.xlsx", bytes.clone(), &ColumnMap::default()).unwrap();
        assert!(matches!(streamed.source, Source::Streamed(_)), "xlsx is streamed");
        let whole = open_whole("t.xlsx", bytes.into(), &ColumnMap::default()).unwrap();
        let (streamed, whole) = (read_all(streamed), read_all(whole));
        assert_eq!(streamed, whole);
        assert_eq!(streamed.len(), 39, "40 rows but the blank one");
        assert!(streamed[0].contains("line: 4,"), "the first data row is Excel's row 4: {}", streamed[0]);
        assert!(streamed[19].contains("empty text") && streamed[19].contains("line: 24,"), "{}", streamed[19]);
    }

    /// The workbook with its sheet's XML cut off in the middle of the data.
    fn truncated(bytes: &[u8]) -> Vec<u8> {
        let mut source = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..source.len() {
            let mut file = source.by_index(i).unwrap();
            let name = file.name().unwrap().into_owned();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            if name == "xl/worksheets/sheet1.xml" {
                let cut = content.windows(8).position(|w| w == b"<row r=\"").map(|first| first + (content.len() - first) / 2).unwrap();
                content.truncate(cut);
            }
            out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
            out.write_all(&content).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn a_sheet_that_breaks_midway_keeps_its_rows_and_says_where() {
        let rows = read_all(open("t.xlsx", truncated(&workbook()), &ColumnMap::default()).unwrap());
        let (last, read) = rows.split_last().unwrap();
        assert!(read.len() > 5 && read.iter().all(|r| r.starts_with("Record")), "{read:?}");
        assert!(last.contains("cannot be read past row"), "{last}");
    }
}
