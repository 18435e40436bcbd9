//! # feedback-triage
//!
//! Turns unstructured Chinese customer feedback into triaged work: each item is
//! normalised, segmented (jieba), classified as praise / suggestion / problem /
//! enquiry (LABELING.md), mined for aspect–opinion phrases (物流慢) and scored for
//! priority.
//!
//! ```no_run
//! use feedback_triage::Pipeline;
//! let pipeline = Pipeline::embedded()?;
//! let a = pipeline.analyze_text("味道不错，就是送得太慢")?;
//! assert_eq!(a.category.as_str(), "problem");
//! # Ok::<(), feedback_triage::Error>(())
//! ```

pub mod batch;
pub mod category;
pub mod classify;
pub mod clause_heads;
pub mod error;
pub mod eval;
pub mod features;
pub mod input;
pub mod keywords;
pub mod mil;
pub mod model;
pub mod normalize;
pub mod output;
pub mod phrase_training;
pub mod pii;
pub mod pipeline;
pub mod primary;
pub mod priority;
pub mod record;
pub mod report;
pub mod resources;
pub mod segment;
pub mod summary;
pub mod train;

pub use category::Category;
pub use error::{Error, Result};
pub use pipeline::Pipeline;
pub use record::{Analysis, FeedbackRecord};
