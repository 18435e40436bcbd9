//! Streaming batch runs: read rows, analyse them in parallel chunks, count how
//! many items report each issue, then score priority and write, in input order.
//!
//! Priority needs batch-wide counts, so a run makes two passes: the first
//! analyses every row once and spools the results to a temporary file while
//! counting issues; the second reads the spool, completes priority with the final
//! counts and writes the output. Memory holds a few chunks plus the counts, however
//! large the input. Every row read ends up either written or rejected.

use std::io::{BufRead, BufReader, BufWriter, Seek, Write};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::input::{RecordReader, Reject, Row};
use crate::pipeline::{IssueCounts, Pipeline};
use crate::priority::Assessment;
use crate::record::{Analysis, FeedbackRecord};

/// Rows analysed together; fixed (not derived from the thread count) so output
/// is identical whatever the parallelism.
pub const CHUNK_ROWS: usize = 2048;

/// What the first pass keeps per record.
#[derive(Serialize, Deserialize)]
struct Spooled {
    analysis: Analysis,
    assessment: Option<Assessment>,
    record: FeedbackRecord,
}

/// Totals of a run. `read == written + rejected` always holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RunStats {
    pub read: u64,
    pub written: u64,
    pub rejected: u64,
    #[serde(skip)]
    pub elapsed: Duration,
}

impl RunStats {
    pub fn items_per_second(&self) -> f64 {
        self.read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for RunStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "read {} / written {} / rejected {} in {:.2}s ({:.0} items/s)",
            self.read,
            self.written,
            self.rejected,
            self.elapsed.as_secs_f64(),
            self.items_per_second()
        )
    }
}

/// Turns one analysed record into its output bytes. Runs on worker threads, in
/// any order, so that serialisation (a large share of a run) is parallel too.
pub type Encode<'a> = dyn Fn(&FeedbackRecord, &Analysis) -> Result<Vec<u8>> + Sync + 'a;

/// Receives what a run produces. Calls arrive in input order.
pub trait Sink {
    /// One analysed record, priority complete, and its bytes from the `Encode`.
    fn analysed(&mut self, record: &FeedbackRecord, analysis: &Analysis, encoded: &[u8]) -> Result<()>;
    /// One rejected row (personal data already masked).
    fn rejected(&mut self, reject: &Reject) -> Result<()>;
}

/// Runs `reader` through `pipeline` into `sink`. `progress` is told the number
/// of rows done after each chunk of each pass (first pass counts as 0..read).
pub fn run(pipeline: &Pipeline, mut reader: RecordReader, encode: &Encode<'_>, sink: &mut dyn Sink, progress: &mut dyn FnMut(Pass, u64)) -> Result<RunStats> {
    let started = Instant::now();
    let spool_file = tempfile::tempfile().map_err(|e| Error::io("<spool>", e))?;
    let mut spool = BufWriter::with_capacity(1 << 20, spool_file);
    let mut counts = IssueCounts::default();
    let mut stats = RunStats::default();
    // Spool lines are either an analysed record or a reject, in input order.
    let source = reader.name().to_string();
    pipelined(
        chunked(reader.by_ref().map(Ok)),
        |chunk: Vec<Row>| chunk.par_iter().map(|row| spool_line(pipeline, &source, row)).collect(),
        |spooled: Vec<Result<(Option<String>, Vec<u8>)>>| {
            for line in spooled {
                let (issue_key, bytes) = line?;
                stats.read += 1;
                counts.add_key(issue_key);
                spool.write_all(&bytes).map_err(|e| Error::io("<spool>", e))?;
            }
            progress(Pass::Analyse, stats.read);
            Ok(())
        },
    )?;
    let mut spool_file = spool.into_inner().map_err(|e| Error::io("<spool>", e.into_error()))?;
    spool_file.rewind().map_err(|e| Error::io("<spool>", e))?;

    let mut done = 0u64;
    let lines = BufReader::with_capacity(1 << 20, spool_file).lines().map(|l| l.map_err(|e| Error::io("<spool>", e)));
    let counts = &counts;
    pipelined(
        chunked(lines),
        |chunk: Vec<String>| chunk.par_iter().map(|line| finish_line(pipeline, counts, encode, line)).collect(),
        |finished: Vec<Result<Finished>>| {
            for item in finished {
                match item? {
                    Finished::Analysed { record, analysis, encoded } => {
                        sink.analysed(&record, &analysis, &encoded)?;
                        stats.written += 1;
                    }
                    Finished::Rejected(r) => {
                        sink.rejected(&r)?;
                        stats.rejected += 1;
                    }
                }
                done += 1;
            }
            progress(Pass::Write, done);
            Ok(())
        },
    )?;
    stats.elapsed = started.elapsed();
    Ok(stats)
}

/// Groups `items` into chunks of `CHUNK_ROWS`; an error ends the chunk it is in
/// and is passed on in its place.
fn chunked<T>(mut items: impl Iterator<Item = Result<T>>) -> impl Iterator<Item = Result<Vec<T>>> {
    std::iter::from_fn(move || {
        let chunk: Result<Vec<T>> = items.by_ref().take(CHUNK_ROWS).collect();
        match chunk {
            Ok(c) if c.is_empty() => None,
            other => Some(other),
        }
    })
}

/// Runs `work` on each chunk from `source`, in order, and hands the results to
/// `deliver`, with reading, the (parallel) work and delivery overlapped on
/// their own threads: reading and writing are serial, and done in turn with the
/// work they would leave the cores idle for a third of a run. At most a few
/// chunks are in flight, so memory stays bounded. An error from `source` or
/// `deliver` stops the run; the other threads then stop at their next send.
fn pipelined<I: Send, O: Send>(
    source: impl Iterator<Item = Result<Vec<I>>> + Send,
    work: impl Fn(Vec<I>) -> Vec<O> + Sync,
    mut deliver: impl FnMut(Vec<O>) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|scope| {
        let (chunk_tx, chunk_rx) = std::sync::mpsc::sync_channel::<Result<Vec<I>>>(1);
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Result<Vec<O>>>(1);
        scope.spawn(move || {
            for chunk in source {
                if chunk_tx.send(chunk).is_err() {
                    break;
                }
            }
        });
        let work = &work;
        scope.spawn(move || {
            for chunk in chunk_rx {
                if done_tx.send(chunk.map(work)).is_err() {
                    break;
                }
            }
        });
        for results in done_rx {
            deliver(results?)?;
        }
        Ok(())
    })
}

/// First pass, on a worker: analyses one row and serialises it for the spool,
/// returning the issue it reports (for the batch-wide counts).
fn spool_line(pipeline: &Pipeline, source: &str, row: &Row) -> Result<(Option<String>, Vec<u8>)> {
    let (issue_key, line) = match row {
        Row::Rejected(r) => (None, SpoolLine::Rejected(mask_reject(pipeline, r.clone()))),
        Row::Record { line, record } => match pipeline.analyze_unscored(record, &line.to_string()) {
            Ok(mut analysis) => {
                let assessment = analysis.assessment.take();
                let mut record = record.clone();
                record.text = String::new(); // the masked text lives in the analysis
                let key = assessment.as_ref().and_then(|a| a.issue_key.clone());
                (key, SpoolLine::Ok(Spooled { analysis, assessment, record }))
            }
            Err(e) => {
                let raw = serde_json::to_string(record).unwrap_or_default();
                let reject = Reject { file: source.to_string(), line: *line, reason: e.to_string(), raw };
                (None, SpoolLine::Rejected(mask_reject(pipeline, reject)))
            }
        },
    };
    let mut bytes = serde_json::to_vec(&line).map_err(|e| Error::io("<spool>", e.into()))?;
    bytes.push(b'\n');
    Ok((issue_key, bytes))
}

/// What the second pass hands the sink.
// Almost every line is the large variant: boxing it would add an allocation per
// item to save space only on the rare rejects.
#[allow(clippy::large_enum_variant)]
enum Finished {
    Analysed { record: FeedbackRecord, analysis: Analysis, encoded: Vec<u8> },
    Rejected(Reject),
}

/// Second pass, on a worker: completes priority with the batch counts and
/// encodes the output.
fn finish_line(pipeline: &Pipeline, counts: &IssueCounts, encode: &Encode<'_>, line: &str) -> Result<Finished> {
    let item: SpoolLine = serde_json::from_str(line).map_err(|e| Error::io("<spool>", e.into()))?;
    Ok(match item {
        SpoolLine::Ok(mut s) => {
            let scope = counts.scope(s.assessment.as_ref());
            s.analysis.assessment = s.assessment.take();
            pipeline.finish(&mut s.analysis, scope);
            let encoded = encode(&s.record, &s.analysis)?;
            Finished::Analysed { record: s.record, analysis: s.analysis, encoded }
        }
        SpoolLine::Rejected(r) => Finished::Rejected(r),
    })
}

/// Which pass a progress report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Analyse,
    Write,
}

#[derive(Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // as `Finished`
enum SpoolLine {
    Ok(Spooled),
    Rejected(Reject),
}

fn mask_reject(pipeline: &Pipeline, mut r: Reject) -> Reject {
    r.raw = pipeline.normalizer().mask(&r.raw).into_owned();
    r.reason = pipeline.normalizer().mask(&r.reason).into_owned();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(n: usize) -> impl Iterator<Item = Result<Vec<usize>>> + Send {
        (0..n).map(|c| Ok((c * 10..c * 10 + 10).collect()))
    }

    #[test]
    fn pipelined_keeps_chunk_order() {
        let mut seen = Vec::new();
        pipelined(
            chunks(50),
            |c: Vec<usize>| c.par_iter().map(|x| x * 2).collect(),
            |out: Vec<usize>| {
                seen.extend(out);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, (0..500).map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn pipelined_stops_on_a_delivery_error_without_hanging() {
        // Far more chunks than the queues hold: the reader must notice the stop.
        let mut delivered = 0;
        let result = pipelined(
            chunks(10_000),
            |c: Vec<usize>| c,
            |_out: Vec<usize>| {
                delivered += 1;
                if delivered == 3 {
                    Err(Error::Training("disk full".into()))
                } else {
                    Ok(())
                }
            },
        );
        assert!(matches!(result, Err(Error::Training(ref m)) if m == "disk full"));
        assert_eq!(delivered, 3);
    }

    #[test]
    fn pipelined_passes_on_a_source_error() {
        let source = chunks(5).chain(std::iter::once(Err(Error::Training("bad spool".into())))).chain(chunks(5));
        let mut delivered = 0;
        let result = pipelined(
            source,
            |c: Vec<usize>| c,
            |_out: Vec<usize>| {
                delivered += 1;
                Ok(())
            },
        );
        assert!(matches!(result, Err(Error::Training(ref m)) if m == "bad spool"));
        assert_eq!(delivered, 5);
    }
}
