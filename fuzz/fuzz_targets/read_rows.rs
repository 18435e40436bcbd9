//! Any bytes in any input format: the reader yields records and located rejects,
//! never a panic, and every row it yields can be analysed without one.
#![no_main]

use std::sync::OnceLock;

use feedback_triage::input::{ColumnMap, Format, RecordReader, Row};
use feedback_triage::Pipeline;
use libfuzzer_sys::fuzz_target;

static PIPELINE: OnceLock<Pipeline> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let format = [Format::Jsonl, Format::Csv, Format::Tsv, Format::Xlsx][selector as usize % 4];
    let pipeline = PIPELINE.get_or_init(|| Pipeline::embedded().expect("embedded model loads"));
    let reader = RecordReader::from_reader("fuzz".into(), Box::new(std::io::Cursor::new(body.to_vec())), format, ColumnMap::default());
    for row in reader.take(10_000) {
        match row {
            Row::Record { record, .. } => {
                let _ = pipeline.analyze(&record);
            }
            Row::Rejected(r) => assert!(r.line >= 1 && !r.reason.is_empty(), "{r:?}"),
        }
    }
});
