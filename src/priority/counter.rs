//! Scope for an intake service that sees one message at a time: a thread-safe
//! count of how many reports of each issue arrived within a rolling time window.
//!
//! ```no_run
//! use feedback_triage::{FeedbackRecord, Pipeline};
//! let pipeline = Pipeline::embedded()?;
//! let counter = pipeline.priority().issue_counter(); // window from models/priority.toml
//! // In each request handler (any thread):
//! let a = pipeline.analyze_with_counter(&FeedbackRecord::new("登录失败"), &counter)?;
//! # Ok::<(), feedback_triage::Error>(())
//! ```

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::pipeline::Pipeline;
use crate::record::{Analysis, FeedbackRecord};

/// Lock shards: reports of different issues rarely contend.
const SHARDS: usize = 16;
/// Every this many observations a shard drops keys with no report in the window.
const SWEEP_EVERY: u64 = 1024;
/// Reports remembered per issue. Far beyond where the scope factor saturates;
/// bounds memory under a flood.
pub const MAX_EVENTS_PER_KEY: usize = 100_000;

type Shard = HashMap<String, VecDeque<Instant>>;

/// Counts reports per issue key over a rolling window; `Send + Sync`, share it
/// (e.g. in an `Arc`) between request handlers.
#[derive(Debug)]
pub struct IssueCounter {
    window: Duration,
    shards: Box<[Mutex<Shard>]>,
    observed: AtomicU64,
}

impl IssueCounter {
    /// A counter over the given rolling window.
    pub fn new(window: Duration) -> Self {
        IssueCounter { window, shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(), observed: AtomicU64::new(0) }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        &self.shards[(h.finish() as usize) % SHARDS]
    }

    fn lock<'a>(m: &'a Mutex<Shard>) -> std::sync::MutexGuard<'a, Shard> {
        // A panic while holding the lock cannot leave a shard inconsistent (every
        // update is a single push or pop), so a poisoned lock is still usable.
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn expire(events: &mut VecDeque<Instant>, now: Instant, window: Duration) {
        while let Some(&first) = events.front() {
            if now.saturating_duration_since(first) >= window {
                events.pop_front();
            } else {
                break;
            }
        }
    }

    /// Records one report of `key` now and returns how many reports of it the
    /// window holds, this one included (so at least 1).
    pub fn observe(&self, key: &str) -> u32 {
        self.observe_inner(key, None)
    }

    /// Records one report of `key` at time `at` (for replaying timestamped
    /// messages and for tests). Reports may arrive slightly out of order.
    pub fn observe_at(&self, key: &str, at: Instant) -> u32 {
        self.observe_inner(key, Some(at))
    }

    fn observe_inner(&self, key: &str, at: Option<Instant>) -> u32 {
        let mut shard = Self::lock(self.shard(key));
        // Read the clock under the lock, so reports of one key are in order.
        let at = at.unwrap_or_else(Instant::now);
        let latest = match shard.get_mut(key) {
            Some(events) => {
                Self::expire(events, events.back().copied().map_or(at, |b| b.max(at)), self.window);
                let n = match events.back() {
                    Some(&last) if at < last => {
                        if last.saturating_duration_since(at) >= self.window {
                            // Older than the window already: does not count.
                            return events.len().min(u32::MAX as usize) as u32;
                        }
                        let pos = events.partition_point(|&t| t <= at);
                        events.insert(pos, at);
                        events.len()
                    }
                    _ => {
                        events.push_back(at);
                        events.len()
                    }
                };
                if events.len() > MAX_EVENTS_PER_KEY {
                    events.pop_front();
                }
                n
            }
            None => {
                shard.insert(key.to_string(), VecDeque::from([at]));
                1
            }
        };
        if self.observed.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            let window = self.window;
            shard.retain(|_, events| {
                Self::expire(events, at, window);
                !events.is_empty()
            });
        }
        latest.min(u32::MAX as usize) as u32
    }

    /// Reports of `key` within the window ending now, without recording one.
    pub fn count(&self, key: &str) -> u32 {
        self.count_at(key, Instant::now())
    }

    /// Reports of `key` within the window ending at `at`.
    pub fn count_at(&self, key: &str, at: Instant) -> u32 {
        let shard = Self::lock(self.shard(key));
        shard.get(key).map_or(0, |events| events.iter().filter(|&&t| t <= at && at.saturating_duration_since(t) < self.window).count() as u32)
    }

    /// Drops reports older than the window and issues with none left.
    pub fn prune(&self) {
        self.prune_at(Instant::now())
    }

    pub fn prune_at(&self, at: Instant) {
        for s in self.shards.iter() {
            let mut shard = Self::lock(s);
            shard.retain(|_, events| {
                Self::expire(events, at, self.window);
                !events.is_empty()
            });
        }
    }

    /// Number of issues currently tracked.
    pub fn tracked_issues(&self) -> usize {
        self.shards.iter().map(|s| Self::lock(s).len()).sum()
    }
}

impl Pipeline {
    /// Analyses one record for an intake service: the item's issue is recorded
    /// in `counter` and its scope is the number of reports of that issue within
    /// the counter's window, so priority grows as more customers report it.
    pub fn analyze_with_counter(&self, record: &FeedbackRecord, counter: &IssueCounter) -> Result<Analysis> {
        self.analyze_with_counter_at(record, counter, Instant::now())
    }

    /// As [`Pipeline::analyze_with_counter`], with the report's arrival time given.
    pub fn analyze_with_counter_at(&self, record: &FeedbackRecord, counter: &IssueCounter, at: Instant) -> Result<Analysis> {
        let mut analysis = self.analyze_unscored(record, "")?;
        let scope = analysis.assessment.as_ref().and_then(|s| s.issue_key.as_deref()).map_or(1, |key| counter.observe_at(key, at));
        self.finish(&mut analysis, scope);
        Ok(analysis)
    }
}
