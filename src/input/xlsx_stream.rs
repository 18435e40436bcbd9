//! xlsx sheets streamed row by row. calamine's cell reader borrows its workbook,
//! so a worker thread owns both and sends the sheet's rows over a bounded
//! channel. Memory is then the file, its shared-strings table and a few hundred
//! rows in flight, not the whole sheet: read whole, 200,000 reviews took 330 MB.

use std::io::Cursor;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use calamine::{Data, Reader, Xlsx, XlsxCellReader, XlsxError};

use super::sheet::{header_row, no_sheet_reason};
use super::ColumnMap;

type Workbook = Xlsx<Cursor<Arc<[u8]>>>;

/// Rows in flight between the worker and the reader: enough to keep both busy,
/// few enough to bound memory.
const ROWS_IN_FLIGHT: usize = 256;

/// One row of a sheet: its number as Excel shows it (1-based) and its cells by
/// column, from column A.
pub(super) type SheetRow = (u64, Vec<Data>);

enum Message {
    /// The feedback sheet was found: its name and its header row's cells.
    Header {
        sheet: String,
        cells: Vec<Data>,
    },
    /// No sheet has a `text` column; why.
    NoSheet(String),
    Row(SheetRow),
    /// The sheet's XML broke at this row; nothing after it can be read.
    Broken(u64, String),
}

/// The data rows below the header of a streamed sheet.
pub(super) struct StreamedRows {
    rx: Receiver<Message>,
    worker: Option<JoinHandle<()>>,
    last_line: u64,
}

/// The feedback sheet found in an xlsx workbook.
pub(super) struct OpenedSheet {
    pub sheet: String,
    pub header: Vec<Data>,
    pub rows: StreamedRows,
}

/// Opens `bytes` as an xlsx workbook and starts streaming its feedback sheet.
/// `None` when it is not an xlsx workbook (xls, xlsb and ods are read whole);
/// `Some(Err(reason))` when it is one but no sheet holds feedback.
pub(super) fn open(bytes: Arc<[u8]>, columns: &ColumnMap) -> Option<Result<OpenedSheet, String>> {
    let workbook = Xlsx::new(Cursor::new(bytes)).ok()?;
    let (tx, rx) = sync_channel(ROWS_IN_FLIGHT);
    let columns = columns.clone();
    let worker = std::thread::Builder::new().name("xlsx-reader".into()).spawn(move || stream_workbook(workbook, &columns, &tx));
    let worker = match worker {
        Ok(worker) => worker,
        Err(e) => return Some(Err(format!("could not start the spreadsheet reader: {e}"))),
    };
    let rows = StreamedRows { rx, worker: Some(worker), last_line: 0 };
    Some(match rows.rx.recv() {
        Ok(Message::Header { sheet, cells }) => Ok(OpenedSheet { sheet, header: cells, rows }),
        Ok(Message::NoSheet(reason)) => Err(reason),
        // The worker ended without a word: it panicked inside the parser.
        _ => Err("the spreadsheet parser failed on this file".into()),
    })
}

impl StreamedRows {
    /// The next row, or the row number and reason where the sheet stopped being
    /// readable.
    pub(super) fn next_row(&mut self) -> Option<Result<SheetRow, (u64, String)>> {
        match self.rx.recv() {
            Ok(Message::Row(row)) => {
                self.last_line = row.0;
                Some(Ok(row))
            }
            Ok(Message::Broken(line, reason)) => Some(Err((line, reason))),
            Ok(Message::Header { .. } | Message::NoSheet(_)) => None,
            // The worker hung up: the sheet ended, or the parser panicked.
            Err(_) => match self.worker.take()?.join() {
                Ok(()) => None,
                Err(_) => Some(Err((self.last_line + 1, format!("the spreadsheet parser failed after row {}", self.last_line)))),
            },
        }
    }
}

/// The worker: finds the first sheet with a `text` header in its first rows
/// and sends its rows. A send fails only when the reader was dropped; then it
/// stops.
fn stream_workbook(mut workbook: Workbook, columns: &ColumnMap, tx: &SyncSender<Message>) {
    let names = workbook.sheet_names();
    let mut unreadable = Vec::new();
    for name in &names {
        let mut rows = match workbook.worksheet_cells_reader(name) {
            Ok(cells) => RowCells { cells, next_cell: None, pushed_back: None, ended: false },
            Err(e) => {
                unreadable.push(format!("{name}: {e}"));
                continue;
            }
        };
        let top = match rows.top_rows() {
            Ok(top) => top,
            Err(e) => {
                unreadable.push(format!("{name}: {e}"));
                continue;
            }
        };
        let Some(header_at) = header_row(top.iter().map(|(_, cells)| cells.as_slice()), columns) else { continue };
        let mut top = top.into_iter().skip(header_at);
        let (header_index, header) = top.next().unwrap_or_default();
        if tx.send(Message::Header { sheet: name.clone(), cells: header }).is_err() {
            return;
        }
        // Excel's row number of the last row sent, the header's at first.
        let mut last_line = u64::from(header_index) + 1;
        for row in top.map(Ok).chain(std::iter::from_fn(|| rows.next_row().transpose())) {
            let message = match row {
                Ok((row, cells)) => {
                    last_line = u64::from(row) + 1;
                    Message::Row((last_line, cells))
                }
                Err(e) => Message::Broken(last_line + 1, format!("the sheet cannot be read past row {last_line}: {e}")),
            };
            let broken = matches!(message, Message::Broken(..));
            if tx.send(message).is_err() || broken {
                return;
            }
        }
        return;
    }
    let _ = tx.send(Message::NoSheet(no_sheet_reason(&names, &unreadable)));
}

/// Groups the cell stream (row by row, left to right) into rows, skipping
/// cells with no value. Rows are 0-based as calamine numbers them.
struct RowCells<'a> {
    cells: XlsxCellReader<'a, Cursor<Arc<[u8]>>>,
    /// The first cell of the next row, read while finding where a row ends.
    next_cell: Option<(u32, u32, Data)>,
    /// A row read past the header search, to be returned again.
    pushed_back: Option<(u32, Vec<Data>)>,
    /// The reader reached the end of the sheet; asked again, it reports an
    /// error ("unexpected end of xml").
    ended: bool,
}

impl RowCells<'_> {
    /// The rows a header may sit in: the first [`super::sheet::HEADER_SEARCH_ROWS`]
    /// counted from the first row with a value, as a whole-sheet range counts them.
    fn top_rows(&mut self) -> Result<Vec<(u32, Vec<Data>)>, XlsxError> {
        let mut top = Vec::new();
        while let Some((row, cells)) = self.next_row()? {
            let first = top.first().map_or(row, |(first, _)| *first);
            if row - first >= super::sheet::HEADER_SEARCH_ROWS as u32 {
                self.pushed_back = Some((row, cells));
                break;
            }
            top.push((row, cells));
        }
        Ok(top)
    }

    fn next_row(&mut self) -> Result<Option<(u32, Vec<Data>)>, XlsxError> {
        if let Some(row) = self.pushed_back.take() {
            return Ok(Some(row));
        }
        let mut row: Option<(u32, Vec<Data>)> = None;
        loop {
            let cell = match self.next_cell.take() {
                Some(cell) => Some(cell),
                None => self.read_cell()?,
            };
            let Some((r, c, value)) = cell else { return Ok(row) };
            match &mut row {
                Some((current, cells)) if *current == r => place(cells, c, value),
                Some(_) => {
                    self.next_cell = Some((r, c, value));
                    return Ok(row);
                }
                None => {
                    let mut cells = Vec::new();
                    place(&mut cells, c, value);
                    row = Some((r, cells));
                }
            }
        }
    }

    fn read_cell(&mut self) -> Result<Option<(u32, u32, Data)>, XlsxError> {
        while !self.ended {
            let Some(cell) = self.cells.next_cell()? else {
                self.ended = true;
                break;
            };
            let value = Data::from(cell.get_value().clone());
            if !matches!(value, Data::Empty) {
                let (row, col) = cell.get_position();
                return Ok(Some((row, col, value)));
            }
        }
        Ok(None)
    }
}

fn place(cells: &mut Vec<Data>, col: u32, value: Data) {
    let col = col as usize;
    if cells.len() <= col {
        cells.resize(col + 1, Data::Empty);
    }
    cells[col] = value;
}
