//! Sharing the machine between jobs: while an encoder that serves a viewer falls behind,
//! background encoders (gap filling, jobs nobody watches) stop (SIGSTOP) and give it the CPU;
//! they continue once no viewer is starved. Queued jobs with a waiting viewer get a background
//! job's encoder slot. Checked once a second.

use super::Shared;
use crate::job::{Job, JobState, Role};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The scheduler's loop; it ends with the engine.
pub(crate) async fn hold_for_viewers(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else { return };
        let jobs: Vec<Arc<Job>> = shared.jobs.lock().values().filter(|j| j.role() == Role::Upscaled).cloned().collect();
        let starving = jobs.iter().any(|j| j.starved());
        for j in &jobs {
            j.set_hold(starving && j.is_background());
        }
        // Encoder slots: a viewer waiting in the queue takes one from a background run; a run
        // 5 minutes ahead of its viewer lets queued jobs go first (never when it runs alone).
        // One yield a tick, so slots move one at a time.
        let viewer_queued = jobs.iter().any(|j| j.viewer_waiting_in_queue());
        let any_queued = jobs.iter().any(|j| j.state() == JobState::Queued);
        let giver = jobs.iter().find(|j| (viewer_queued && j.is_background()) || (any_queued && j.far_ahead()));
        if let Some(j) = giver {
            j.yield_slot();
        }
    }
}
