//! The flat view as an Excel workbook (.xlsx). Feedback teams open results in
//! Excel, which reads a UTF-8 CSV file without a byte-order mark as the local
//! code page and shows Chinese as mojibake; a workbook has no such trap, and its
//! score columns sort as numbers.
//!
//! Rows arrive one at a time, in order, so the sheet is kept in rust_xlsxwriter's
//! constant-memory mode: each finished row goes to a temporary file, not memory.

use rust_xlsxwriter::{Format as CellFormat, Workbook, XlsxError};

use super::AtomicOutput;
use crate::error::{Error, Result};

/// Columns written as numbers, so that a team can sort and filter by them.
const NUMERIC_COLUMNS: [&str; 3] = ["confidence", "priority_score", "respond_within_minutes"];
/// Excel's row limit, header included.
const MAX_ROWS: u32 = 1_048_576;
/// Width of the `text` column, in characters; the others keep Excel's default.
const TEXT_COLUMN_WIDTH: f64 = 80.0;

/// Builds the workbook row by row.
pub(super) struct SheetWriter {
    workbook: Workbook,
    numeric: Vec<bool>,
    next_row: u32,
}

impl SheetWriter {
    /// A workbook with one sheet whose first, frozen, bold row is `columns`.
    pub(super) fn new(columns: &[&str]) -> Result<Self> {
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
        sheet.set_name("triage").map_err(xlsx_error)?;
        let bold = CellFormat::new().set_bold();
        for (col, name) in columns.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *name, &bold).map_err(xlsx_error)?;
            if *name == "text" {
                sheet.set_column_width(col as u16, TEXT_COLUMN_WIDTH).map_err(xlsx_error)?;
            }
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;
        let numeric = columns.iter().map(|c| NUMERIC_COLUMNS.contains(c)).collect();
        Ok(SheetWriter { workbook, numeric, next_row: 1 })
    }

    /// Writes one row's fields (a numeric column's empty field stays an empty cell).
    pub(super) fn write_row(&mut self, fields: &[String]) -> Result<()> {
        if self.next_row >= MAX_ROWS {
            return Err(Error::io(
                "<xlsx output>",
                std::io::Error::other(format!("an xlsx sheet holds at most {} records; write jsonl or csv for more", MAX_ROWS - 1)),
            ));
        }
        let sheet = self.workbook.worksheet_from_index(0).map_err(xlsx_error)?;
        for (col, field) in fields.iter().enumerate() {
            let number = self.numeric.get(col).copied().unwrap_or(false).then(|| field.parse::<f64>().ok()).flatten();
            match number {
                Some(n) => sheet.write_number(self.next_row, col as u16, n),
                None if field.is_empty() => continue,
                None => sheet.write_string(self.next_row, col as u16, field.as_str()),
            }
            .map_err(xlsx_error)?;
        }
        self.next_row += 1;
        Ok(())
    }

    /// Writes the finished workbook to `out` (which is committed by the caller).
    pub(super) fn finish(mut self, out: &mut AtomicOutput) -> Result<()> {
        let path = out.path();
        self.workbook.save_to_writer(&mut out.writer).map_err(|e| Error::io(path, std::io::Error::other(e.to_string())))
    }
}

fn xlsx_error(e: XlsxError) -> Error {
    Error::io("<xlsx output>", std::io::Error::other(e.to_string()))
}
