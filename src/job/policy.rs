//! The rules that decide what a job's encoder does next: restart where a viewer seeks, stop a
//! rung that is far enough ahead (with hysteresis), jump ahead of a viewer who overtook it, drop
//! to background priority, judge whether it keeps up, and which adaptation to take when it does
//! not. Pure functions over the job's state ([`Live`]) and timeline, unit-tested here; the
//! driver applies them.

use super::live::Live;
use super::status::{JobState, Verdict};
use crate::timeline::Timeline;
use std::time::Duration;

/// How far ahead of the encoder a request may be before the encoder jumps there instead.
pub(crate) const AHEAD_LIMIT_SECONDS: f64 = 24.0;
/// CPU priority of runs that fill gaps behind the viewers.
pub(crate) const BACKGROUND_NICE: i32 = 10;
/// A rung's encoder stops (SIGSTOP) this far ahead of its viewer and continues at half of it.
pub(crate) const RUNG_LOOKAHEAD_SECONDS: f64 = 24.0;
/// A rung's encoder nobody asked anything of for this long ends its run.
pub(crate) const RUNG_IDLE: Duration = Duration::from_secs(15);
/// A rung request this recent means a viewer is on that rung.
pub(crate) const RUNG_ACTIVE: Duration = Duration::from_secs(10);
/// How far ahead of a viewer an overtaken upscaled encoder restarts, so it is ahead again.
pub(crate) const OVERTAKE_LEAD_SECONDS: f64 = 8.0;
/// Consecutive one-second checks with a `falling_behind` verdict before an adaptation.
pub(crate) const BEHIND_CHECKS: u32 = 3;
/// A run younger than this is not judged: its speed is still being measured.
pub(crate) const SETTLING: Duration = Duration::from_secs(5);
/// Video ready ahead of the viewer past which a job lets queued jobs have its encoder slot.
pub(crate) const FAR_AHEAD_SECONDS: f64 = 300.0;

/// The verdict from the smoothed encode speed (x real time) and the buffered seconds.
pub fn verdict(speed: f64, margin: f64, segment_seconds: u32) -> Verdict {
    let s = segment_seconds as f64;
    if speed >= 1.1 || margin >= 3.0 * s {
        Verdict::Ahead
    } else if speed >= 0.95 || margin >= s {
        Verdict::KeepingUp
    } else {
        Verdict::FallingBehind
    }
}

/// Seconds of ready video from segment `from` on.
pub(crate) fn ready_ahead(l: &Live, t: &Timeline, from: u32) -> f64 {
    if l.state == JobState::Done {
        return t.duration - t.start(from);
    }
    let end = (from..t.count())
        .take_while(|&k| l.output.segments.is_ready(k))
        .last()
        .map_or(t.start(from), |k| t.start(k) + t.duration_of(k));
    end - t.start(from)
}

/// The verdict of a running job with a viewer (a done job is always ahead).
pub(crate) fn verdict_of(l: &Live, t: &Timeline) -> Option<Verdict> {
    let margin = l.viewers.at.map(|v| ready_ahead(l, t, v))?;
    match l.state {
        JobState::Done => Some(Verdict::Ahead),
        JobState::Running => Some(verdict(l.progress.speed_avg, margin, t.segment_seconds)),
        _ => None,
    }
}

/// An encoder that serves a viewer and cannot keep up: other jobs' background encoders should
/// give it the CPU.
pub(crate) fn starved(l: &Live, t: &Timeline) -> bool {
    let e = &l.encoder;
    e.span.is_some() && !e.background && !e.stopped && verdict_of(l, t) == Some(Verdict::FallingBehind)
}

/// An encoder so far ahead of its viewer that it can let queued jobs run.
pub(crate) fn far_ahead(l: &Live, t: &Timeline) -> bool {
    l.encoder.span.is_some() && l.viewers.at.is_some_and(|v| ready_ahead(l, t, v) > FAR_AHEAD_SECONDS)
}

/// Whether a viewer's request for segment `k` moves the encoder there: `k` is missing and
/// behind the run's start, past its end, or too far ahead of what it has made.
pub(crate) fn should_restart(l: &Live, t: &Timeline, k: u32) -> bool {
    if l.output.segments.is_ready(k) {
        return false;
    }
    let Some((first, end)) = l.encoder.span else { return true };
    let frontier =
        (first..end.unwrap_or(t.count())).take_while(|&j| l.output.segments.is_ready(j)).last().unwrap_or(first);
    let ahead = (AHEAD_LIMIT_SECONDS / t.segment_seconds as f64).ceil() as u32;
    k < first || end.is_some_and(|e| k >= e) || k > frontier + ahead
}

/// Whether the encoder of a run from `first` should be stopped: the engine holds it for other
/// jobs' viewers, or (a rung) it is far enough ahead of its viewer. Hysteresis: a stopped rung
/// continues only once half of its lead is watched.
pub(crate) fn wants_stop(l: &Live, t: &Timeline, on_demand: bool, first: u32) -> bool {
    // One request may be a player probing every variant at start (ffmpeg, mpv): a rung runs
    // one segment ahead until a second request shows someone is watching it.
    let lookahead = if l.viewers.requests < 2 { t.segment_seconds as f64 } else { RUNG_LOOKAHEAD_SECONDS };
    let limit = if l.encoder.stopped { lookahead / 2.0 } else { lookahead };
    l.encoder.hold || (on_demand && ready_ahead(l, t, l.viewers.at.unwrap_or(first)) > limit)
}

/// Where an upscaled run from `first` restarts when a viewer of a cheaper rung is at segment
/// `k` ahead of it, so the viewer can switch back up; none while the run is not behind.
pub(crate) fn overtaken_restart(l: &Live, t: &Timeline, k: u32, first: u32) -> Option<u32> {
    let count = t.count();
    let frontier = (first..count).take_while(|&j| l.output.segments.is_ready(j)).last().map_or(first, |j| j + 1);
    // A viewer at the very segment being encoded is not ahead of it: players that probe every
    // variant at start (ffmpeg, mpv) ask segment 0 of each, and must not move it.
    if frontier >= k {
        return None;
    }
    let lead = (OVERTAKE_LEAD_SECONDS / t.segment_seconds as f64).ceil() as u32;
    l.output.segments.next_missing((k + lead).min(count - 1))
}

/// The CPU priority a run should have: background for gap filling and once viewers have been
/// idle; a rung always serves a viewer who would otherwise wait.
pub(crate) fn wanted_nice(l: &Live, on_demand: bool, gap_fill: bool, viewer_idle: Duration) -> i32 {
    if !on_demand && (gap_fill || l.idle_for(viewer_idle)) {
        BACKGROUND_NICE
    } else {
        0
    }
}

/// What a job does when its interactive encoder keeps falling behind its viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Adaptation {
    /// Restart one preset faster at the next missing segment.
    FasterPreset,
    /// No faster preset left: start the lower target at the viewer.
    StartLower,
}

/// The adaptation due after `behind` consecutive `falling_behind` checks of a run `age` old,
/// if any: a faster preset while there is one, else the lower rung while it is idle.
pub(crate) fn next_adaptation(behind: u32, age: Duration, faster_left: bool, lower_idle: bool) -> Option<Adaptation> {
    if behind < BEHIND_CHECKS || age < SETTLING {
        return None;
    }
    if faster_left {
        Some(Adaptation::FasterPreset)
    } else if lower_idle {
        Some(Adaptation::StartLower)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segments::SegmentSet;

    /// 10 s in 4 s segments with a 1 s first one: [0,1) [1,5) [5,9) [9,10).
    fn timeline() -> Timeline {
        Timeline { duration: 10.0, segment_seconds: 4, first_seconds: 1, fps: 24.0, cuts: None }
    }

    fn live(ready: &[u32]) -> Live {
        live_on(&timeline(), ready)
    }

    fn live_on(t: &Timeline, ready: &[u32]) -> Live {
        let mut segments = SegmentSet::new(t.count());
        for &k in ready {
            segments.mark(k);
        }
        let mut l = Live::new(JobState::Running, t, segments, vec![0; t.count() as usize], "veryfast".into());
        l.encoder.span = Some((0, None));
        l
    }

    #[test]
    fn verdict_weighs_speed_and_buffer() {
        assert_eq!(verdict(2.0, 0.0, 4), Verdict::Ahead);
        assert_eq!(verdict(0.5, 20.0, 4), Verdict::Ahead, "a big buffer is still ahead");
        assert_eq!(verdict(1.0, 0.0, 4), Verdict::KeepingUp);
        assert_eq!(verdict(0.7, 5.0, 4), Verdict::KeepingUp, "slow, but a segment is buffered");
        assert_eq!(verdict(0.7, 1.0, 4), Verdict::FallingBehind);
    }

    #[test]
    fn ready_ahead_counts_the_contiguous_run_from_the_viewer() {
        let l = live(&[0, 1, 3]);
        let t = timeline();
        assert_eq!(ready_ahead(&l, &t, 0), 5.0);
        assert_eq!(ready_ahead(&l, &t, 2), 0.0, "segment 2 is missing");
        assert_eq!(ready_ahead(&Live { state: JobState::Done, ..live(&[]) }, &t, 1), 9.0);
    }

    #[test]
    fn a_slow_encoder_with_a_viewer_and_no_buffer_is_starved_unless_background_or_stopped() {
        let t = timeline();
        let mut l = live(&[0]);
        l.viewers.at = Some(1);
        l.progress.speed_avg = 0.5;
        assert_eq!(verdict_of(&l, &t), Some(Verdict::FallingBehind));
        assert!(starved(&l, &t));
        l.encoder.background = true;
        assert!(!starved(&l, &t), "background work never starves");
        l.encoder.background = false;
        l.encoder.stopped = true;
        assert!(!starved(&l, &t), "a held encoder is not judged");
        l.viewers.at = None;
        assert_eq!(verdict_of(&l, &t), None, "no viewer, no verdict");
    }

    #[test]
    fn restarts_only_for_missing_segments_behind_the_run_past_its_end_or_far_ahead() {
        let t = Timeline { duration: 200.0, ..timeline() };
        let mut l = live_on(&t, &[0, 1, 2]);
        l.encoder.span = Some((1, Some(40)));
        assert!(!should_restart(&l, &t, 2), "ready");
        assert!(!should_restart(&l, &t, 3), "the encoder is about to make it");
        assert!(!should_restart(&l, &t, 8), "within 24 s of the frontier");
        assert!(should_restart(&l, &t, 9), "over 24 s ahead");
        assert!(should_restart(&l, &t, 40), "past the run's end");
        l.output.segments = SegmentSet::new(t.count());
        assert!(should_restart(&l, &t, 0), "behind the run's start");
        l.encoder.span = None;
        assert!(should_restart(&l, &t, 5), "no run at all");
    }

    #[test]
    fn a_rung_stops_far_ahead_of_its_viewer_and_continues_at_half_its_lead() {
        let t = Timeline { duration: 100.0, ..timeline() };
        let mut l = live_on(&t, &(0..8).collect::<Vec<_>>()); // 29 s ready from 0
        l.viewers.at = Some(0);
        assert!(wants_stop(&l, &t, true, 0), "one request: one segment ahead is enough");
        l.viewers.requests = 2;
        assert!(wants_stop(&l, &t, true, 0), "29 s ahead of a watching viewer");
        assert!(!wants_stop(&l, &t, false, 0), "an upscaled job never stops for its lead");
        l.viewers.at = Some(2); // 24 s ahead
        assert!(!wants_stop(&l, &t, true, 0), "not over 24 s: runs");
        l.encoder.stopped = true;
        assert!(wants_stop(&l, &t, true, 0), "stopped: stays stopped until under 12 s");
        l.viewers.at = Some(4); // 16 s ahead
        assert!(wants_stop(&l, &t, true, 0), "16 s: still over half its lead");
        l.viewers.at = Some(6); // 8 s ahead
        assert!(!wants_stop(&l, &t, true, 0), "continues under half its lead");
        l.encoder.hold = true;
        assert!(wants_stop(&l, &t, false, 0), "the engine's hold stops any encoder");
    }

    #[test]
    fn an_overtaken_run_restarts_ahead_of_the_viewer_but_not_for_a_probe_at_its_frontier() {
        let t = Timeline { duration: 100.0, ..timeline() };
        let l = live_on(&t, &[0, 1]);
        assert_eq!(overtaken_restart(&l, &t, 2, 0), None, "the viewer is at the frontier");
        assert_eq!(overtaken_restart(&l, &t, 6, 0), Some(8), "8 s (two segments) ahead of the viewer");
        let mut l = live_on(&t, &[0, 1]);
        l.output.segments.mark(8);
        assert_eq!(overtaken_restart(&l, &t, 6, 0), Some(9), "the next missing one");
    }

    #[test]
    fn gap_filling_and_idle_viewers_run_in_the_background_but_rungs_never() {
        let mut l = live(&[]);
        let idle = Duration::from_millis(50);
        assert_eq!(wanted_nice(&l, false, true, idle), BACKGROUND_NICE);
        assert_eq!(wanted_nice(&l, false, false, idle), 0);
        l.viewers.last_activity -= Duration::from_secs(1);
        assert_eq!(wanted_nice(&l, false, false, idle), BACKGROUND_NICE, "idle viewers");
        assert_eq!(wanted_nice(&l, true, true, idle), 0, "a rung serves a viewer");
        l.viewers.waiting = 1;
        assert_eq!(wanted_nice(&l, false, false, idle), 0, "a waiting viewer is not idle");
    }

    #[test]
    fn adaptations_wait_for_three_checks_of_a_settled_run_then_go_faster_then_lower() {
        let old = Duration::from_secs(10);
        assert_eq!(next_adaptation(2, old, true, true), None, "two checks are not enough");
        assert_eq!(next_adaptation(3, Duration::from_secs(2), true, true), None, "the run is still settling");
        assert_eq!(next_adaptation(3, old, true, true), Some(Adaptation::FasterPreset));
        assert_eq!(next_adaptation(3, old, false, true), Some(Adaptation::StartLower));
        assert_eq!(next_adaptation(3, old, false, false), None, "nothing left to try");
    }
}
