//! Jellyscale: real-time upscaling for Jellyfin.
//!
//! The engine runs supervised ffmpeg upscaling jobs that write HLS segments while they encode,
//! serves a full-length VOD playlist from the first second, restarts the encoder where a viewer
//! seeks, and saves a verified final file. See DESIGN.md for the architecture.

pub mod config;
pub mod engine;
pub mod error;
pub mod ffi;
pub mod inspect;
pub mod job;
pub mod keyframes;
pub mod plan;
pub mod playlist;
pub mod probe;
pub mod process;
pub mod progress;
pub mod segments;
pub mod server;
pub mod store;
pub mod timeline;

pub use config::{Backend, Codec, Config, StreamRequest};
pub use engine::Engine;
pub use error::{Error, ErrorCode};
pub use job::{JobState, JobStatus, SegmentInfo};
