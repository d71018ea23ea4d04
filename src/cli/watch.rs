//! Following a job to the end: a progress bar on a terminal, or JSON lines.

use indicatif::{ProgressBar, ProgressStyle};
use jellyscale::job::{Job, JobState};
use jellyscale::{Engine, Error};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// Blocks until the job ends; returns the finished file or the job's error.
pub fn follow(engine: &Engine, job: &Arc<Job>, json: bool) -> Result<PathBuf, Error> {
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(job.timeline().count() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:40}] {pos}/{len} segments {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar
    });
    let status = engine.block_on(async {
        let mut rx = job.subscribe();
        loop {
            let s = job.status();
            if json {
                say!("{}", serde_json::to_string(&s).unwrap_or_default());
            } else if let Some(bar) = &bar {
                bar.set_position(s.segments_ready as u64);
                let eta = s.eta_seconds.map(|e| format!(" ETA {e:.0}s")).unwrap_or_default();
                bar.set_message(format!("{:.0} fps {:.2}x at {:.1}s{eta}", s.fps, s.speed, s.position_seconds));
            }
            if s.state.is_terminal() {
                return s;
            }
            // Progress arrives about twice a second; JSON output shows each update once.
            if rx.changed().await.is_err() {
                return job.status();
            }
            if json {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match (status.state, status.final_path, status.error) {
        (JobState::Done, Some(p), _) => Ok(p),
        (_, _, Some(e)) => Err(e),
        (state, _, None) => Err(Error::new(jellyscale::ErrorCode::Internal, format!("job ended as {state:?}"))),
    }
}
