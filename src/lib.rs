//! Jellyscale: real-time upscaling for Jellyfin.
//!
//! The engine runs supervised ffmpeg upscaling jobs that write HLS segments while they encode,
//! serves a full-length VOD playlist from the first second, restarts the encoder where a viewer
//! seeks, and saves a verified final file. The README's "How it works" describes the parts.
#![warn(missing_docs, unreachable_pub)]

pub mod caps;
pub mod config;
pub mod engine;
pub mod error;
pub mod ffi;
pub(crate) mod ffmpeg_log;
pub mod identity;
pub mod inspect;
pub mod job;
pub mod keyframes;
pub(crate) mod os_path;
pub mod plan;
pub(crate) mod playlist;
pub mod probe;
pub(crate) mod process;
pub(crate) mod progress;
pub(crate) mod segments;
#[cfg(feature = "http")]
pub mod server;
pub mod serving;
pub(crate) mod store;
pub mod timeline;

pub use config::{Backend, Codec, Config, StreamRequest};
pub use engine::Engine;
pub use error::{Error, ErrorCode};
pub use job::{JobState, JobStatus, SegmentInfo};
