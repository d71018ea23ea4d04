//! The segment timeline of a job: where each segment starts and how long it lasts, fixed-length
//! or cut at the source's keyframes, and the peak bit rate HLS defines over it. Pure.

use crate::config::Codec;
use std::sync::Arc;

/// How segments are packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    /// MPEG-TS segments (`.ts`).
    Ts,
    /// Fragmented MP4 segments (`.m4s`) after an init section.
    Mp4,
}

impl Container {
    /// The container a codec's segments use: HEVC needs fMP4 (`hvc1`) for Apple players.
    pub fn for_codec(codec: Codec) -> Container {
        match codec {
            Codec::H264 => Container::Ts,
            Codec::Hevc => Container::Mp4,
        }
    }
    /// Segment file extension.
    pub fn segment_ext(self) -> &'static str {
        match self {
            Container::Ts => "ts",
            Container::Mp4 => "m4s",
        }
    }
    /// Extension of the finished file: the segments back to back are a valid file of this type.
    pub fn final_ext(self) -> &'static str {
        match self {
            Container::Ts => "ts",
            Container::Mp4 => "mp4",
        }
    }
}

/// The segments of a job over a known duration: fixed-length (the first may be shorter, so
/// playback can start as soon as possible; the last one may be shorter too), or cut at chosen
/// keyframes of the source, so that a stream copy of it has the same segments.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Source duration in seconds.
    pub duration: f64,
    /// Segment length in seconds (fixed-length), or the shortest a segment is made (cut at
    /// keyframes).
    pub segment_seconds: u32,
    /// Length of segment 0 in seconds (at most `segment_seconds`), or its shortest.
    pub first_seconds: u32,
    /// Source frame rate, used to ignore a sliver shorter than one frame at the end.
    pub fps: f64,
    /// Starts of segments 1.. (seconds, ascending) when segments follow the source's keyframes.
    pub cuts: Option<Arc<[f64]>>,
}

/// A timeline cut at keyframes refuses segments longer than this many `segment_seconds`:
/// x264's default 250-frame GOP at 24-25 fps stays within 3 (12 s).
const MAX_CUT_SEGMENTS: f64 = 3.0;

/// At most this many cuts: every run's ffmpeg is told them in one argument (Linux caps one at
/// 128 KiB), which holds 6000 at up to 13 characters each: 6.6 hours of 4 s segments.
const MAX_CUTS: usize = 6000;

impl Timeline {
    /// Why the source's frame times (read from its packets) contradict this timeline, planned
    /// from what its header claims, if they do: its video ends long before the claimed end (a
    /// damaged or hostile header; every segment past the video's end would wait for frames
    /// that never come). A last frame shown for a while (a closing still) is no contradiction.
    pub fn contradicted_by(&self, frames: &[f64]) -> Option<String> {
        let end = frames.last().copied().unwrap_or(0.0);
        let slack = (0.1 * self.duration).max(60.0);
        (end + slack < self.duration).then(|| {
            format!(
                "the file claims to last {:.0} s but its video ends at {end:.1} s (a damaged header?)",
                self.duration
            )
        })
    }

    /// Number of segments: one per boundary that a frame starts at or after. The duration
    /// includes the last frame's display time, so a tail shorter than one frame starts no
    /// segment (ffmpeg would not write one).
    pub fn count(&self) -> u32 {
        if let Some(cuts) = &self.cuts {
            return cuts.len() as u32 + 1;
        }
        let last_frame_start = self.last_frame_start();
        let first = self.first() as f64;
        if last_frame_start < first - 1e-6 {
            return 1;
        }
        ((last_frame_start - first) / self.segment_seconds as f64 + 1e-6).floor() as u32 + 2
    }

    fn last_frame_start(&self) -> f64 {
        self.duration - 0.9 / self.fps.max(1.0)
    }

    fn first(&self) -> u32 {
        self.first_seconds.clamp(1, self.segment_seconds)
    }

    /// Start of segment `k` on the source timeline, seconds.
    pub fn start(&self, k: u32) -> f64 {
        match (&self.cuts, k) {
            (_, 0) => 0.0,
            (Some(cuts), k) => cuts.get(k as usize - 1).copied().unwrap_or(self.duration),
            (None, k) => (self.first() as u64 + (k as u64 - 1) * self.segment_seconds as u64) as f64,
        }
    }

    /// Start of segment `k` as ffmpeg is told it, `nudge` seconds off when segments follow
    /// keyframes: a cut is a frame's time printed to the microsecond, so an option that must
    /// keep (or skip) that very frame asks for a little before (or after) it. Fixed boundaries
    /// are whole seconds.
    pub fn start_arg(&self, k: u32, nudge: f64) -> String {
        match self.cuts {
            Some(_) => format!("{:.6}", (self.start(k) + nudge).max(0.0)),
            None => self.start(k).to_string(),
        }
    }

    /// Length of segment `k`, seconds.
    pub fn duration_of(&self, k: u32) -> f64 {
        if self.cuts.is_some() {
            // The start after the last segment is the duration.
            return (self.start(k + 1) - self.start(k)).max(0.001);
        }
        let nominal = if k == 0 { self.first() } else { self.segment_seconds } as f64;
        if k + 1 < self.count() {
            nominal
        } else {
            (self.duration - self.start(k)).clamp(0.001, nominal)
        }
    }

    /// `EXT-X-TARGETDURATION`: the longest segment, whole seconds up.
    pub fn target_duration(&self) -> u32 {
        (0..self.count()).map(|k| self.duration_of(k)).fold(0.0f64, f64::max).ceil() as u32
    }

    /// The segment that holds position `seconds`.
    pub fn segment_at(&self, seconds: f64) -> u32 {
        if let Some(cuts) = &self.cuts {
            return cuts.partition_point(|&c| c <= seconds) as u32;
        }
        let first = self.first() as f64;
        let k = if seconds < first { 0 } else { 1 + ((seconds - first) / self.segment_seconds as f64) as u32 };
        k.min(self.count() - 1)
    }

    /// This timeline cut at `keyframes` instead (times on the same timeline, ascending): each
    /// segment ends at the first keyframe at least its fixed length after it starts, as
    /// Jellyfin cuts a stream copy, so every segment starts with a source keyframe. Refused,
    /// saying why, when that makes the first segment longer than `segment_seconds` (the
    /// viewer's first wait) or another one longer than three.
    pub fn cut_at(&self, keyframes: &[f64]) -> std::result::Result<Timeline, String> {
        let (mut cuts, mut last) = (Vec::new(), 0.0);
        for &t in keyframes {
            let want = if cuts.is_empty() { self.first() } else { self.segment_seconds } as f64;
            if t - last >= want - 1e-6 && t < self.last_frame_start() {
                cuts.push(t);
                last = t;
            }
        }
        let cut = Timeline { cuts: Some(cuts.into()), ..self.clone() };
        let s = self.segment_seconds as f64;
        if cut.duration_of(0) > s + 1e-6 {
            return Err(format!("no keyframe from {}s to {s}s (the first segment)", self.first()));
        }
        if let Some(k) = (1..cut.count()).find(|&k| cut.duration_of(k) > MAX_CUT_SEGMENTS * s + 1e-6) {
            return Err(format!("{:.3}s without a keyframe from {:.3}s", cut.duration_of(k), cut.start(k)));
        }
        if cut.count() as usize > MAX_CUTS {
            return Err(format!("{} segments (at most {MAX_CUTS})", cut.count()));
        }
        Ok(cut)
    }
}

/// The peak bit rate of a variant as HLS defines it for `BANDWIDTH`: the largest rate of any
/// run of consecutive segments lasting 0.5 to 1.5 target durations (so a short last or first
/// segment is judged with its neighbour). `sizes` are the segments' bytes, 0 where unknown;
/// runs with an unknown segment are skipped. None until some run is known.
pub fn peak_bitrate(t: &Timeline, sizes: &[u32]) -> Option<u64> {
    let target = t.target_duration() as f64;
    let mut peak: Option<f64> = None;
    for first in 0..sizes.len() {
        let (mut bytes, mut seconds) = (0u64, 0.0);
        for (k, &size) in sizes.iter().enumerate().skip(first) {
            if size == 0 {
                break;
            }
            bytes += size as u64;
            seconds += t.duration_of(k as u32);
            if seconds > 1.5 * target {
                break;
            }
            if seconds >= 0.5 * target {
                let rate = bytes as f64 * 8.0 / seconds;
                peak = Some(peak.map_or(rate, |p| p.max(rate)));
            }
        }
    }
    peak.map(|p| p.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_far_short_of_the_claimed_end_contradict_it() {
        let t = |duration: f64| Timeline { duration, segment_seconds: 4, first_seconds: 4, fps: 24.0, cuts: None };
        let two_seconds: Vec<f64> = (0..48).map(|i| f64::from(i) / 24.0).collect();
        assert!(t(144_000.0).contradicted_by(&two_seconds).unwrap().contains("claims to last 144000 s"));
        assert!(t(120.0).contradicted_by(&two_seconds).is_some(), "2 s of a claimed 2 min");
        assert_eq!(t(2.0).contradicted_by(&two_seconds), None);
        assert_eq!(t(60.0).contradicted_by(&two_seconds), None, "a closing still of a minute");
        assert!(t(7200.0).contradicted_by(&[0.0, 6400.0]).is_some(), "13 minutes short of 2 h");
        assert_eq!(t(7200.0).contradicted_by(&[0.0, 6500.0]), None, "under 10 % short");
        assert!(t(10.0).contradicted_by(&[]).is_none(), "short claims are left to the runs");
    }

    #[test]
    fn exact_multiple_has_no_empty_tail() {
        let t = Timeline { duration: 20.0, segment_seconds: 4, first_seconds: 4, fps: 24.0, cuts: None };
        assert_eq!(t.count(), 5);
        assert_eq!(t.duration_of(4), 4.0);
    }

    #[test]
    fn last_segment_is_short() {
        let t = Timeline { duration: 21.5, segment_seconds: 4, first_seconds: 4, fps: 24.0, cuts: None };
        assert_eq!(t.count(), 6);
        assert!((t.duration_of(5) - 1.5).abs() < 1e-9);
    }

    #[test]
    fn fractional_fps_sliver_makes_no_segment() {
        // 600 frames at 29.97 fps = 20.02 s; the 0.02 s tail is under one frame.
        let t = Timeline {
            duration: 600.0 / (30000.0 / 1001.0),
            segment_seconds: 4,
            first_seconds: 4,
            fps: 29.97,
            cuts: None,
        };
        assert_eq!(t.count(), 5);
        let t = Timeline { duration: 20.1, segment_seconds: 4, first_seconds: 4, fps: 29.97, cuts: None };
        assert_eq!(t.count(), 6, "a tail of three frames is a segment");
    }

    #[test]
    fn short_first_segment_shifts_the_rest() {
        let t = Timeline { duration: 10.0, segment_seconds: 4, first_seconds: 1, fps: 24.0, cuts: None };
        assert_eq!(t.count(), 4); // [0,1) [1,5) [5,9) [9,10)
        assert_eq!((t.start(1), t.start(2), t.start(3)), (1.0, 5.0, 9.0));
        assert_eq!((t.duration_of(0), t.duration_of(1), t.duration_of(3)), (1.0, 4.0, 1.0));
        assert_eq!((t.segment_at(0.5), t.segment_at(1.0), t.segment_at(8.9), t.segment_at(9.5)), (0, 1, 2, 3));
        let tiny = Timeline { duration: 0.5, segment_seconds: 4, first_seconds: 1, fps: 24.0, cuts: None };
        assert_eq!(tiny.count(), 1);
    }

    #[test]
    fn very_short_video_has_one_segment() {
        let t = Timeline { duration: 0.04, segment_seconds: 4, first_seconds: 4, fps: 25.0, cuts: None };
        assert_eq!(t.count(), 1);
        assert!((t.duration_of(0) - 0.04).abs() < 1e-9);
        assert_eq!(t.segment_at(100.0), 0);
    }

    #[test]
    fn peak_bitrate_judges_short_segments_with_their_neighbour() {
        let t = Timeline { duration: 10.0, segment_seconds: 4, first_seconds: 1, fps: 24.0, cuts: None };
        // [0,1) [1,5) [5,9) [9,10): target 4 s, runs of 2 to 6 s.
        assert_eq!(peak_bitrate(&t, &[0, 0, 0, 0]), None);
        // 1 s of 50 kB alone would be 400 kbit/s; with the next 4 s it is (50+100) kB / 5 s.
        assert_eq!(peak_bitrate(&t, &[50_000, 100_000, 0, 0]), Some(240_000));
        assert_eq!(peak_bitrate(&t, &[50_000, 100_000, 300_000, 0]), Some(600_000));
        // The 1 s tail joins the segment before it.
        assert_eq!(peak_bitrate(&t, &[0, 0, 100_000, 100_000]), Some(320_000));
    }

    fn fixed(duration: f64) -> Timeline {
        Timeline { duration, segment_seconds: 2, first_seconds: 1, fps: 24.0, cuts: None }
    }

    #[test]
    fn a_timeline_cut_at_keyframes_ends_each_segment_at_the_first_keyframe_past_its_length() {
        let t = fixed(9.5).cut_at(&[0.0, 1.5, 3.25, 5.0, 6.75, 8.5, 9.48]).unwrap();
        assert_eq!(t.cuts.as_deref(), Some(&[1.5, 5.0, 8.5][..]), "9.48 is inside the last frame");
        assert_eq!((t.count(), t.start(2), t.duration_of(0), t.duration_of(3)), (4, 5.0, 1.5, 1.0));
        assert_eq!((t.segment_at(1.49), t.segment_at(1.5), t.segment_at(100.0)), (0, 1, 3));
        assert_eq!(
            (t.target_duration(), t.start_arg(1, -0.0005), t.start_arg(0, -0.0005)),
            (4, "1.499500".into(), "0.000000".into())
        );
        assert_eq!(fixed(9.5).start_arg(3, -0.0005), "5", "fixed boundaries stay whole seconds");
    }

    #[test]
    fn keyframes_too_far_apart_keep_the_fixed_timeline() {
        let first = fixed(20.0).cut_at(&[0.0, 2.5, 4.0]).unwrap_err();
        assert!(first.contains("no keyframe from 1s to 2s"), "{first}");
        let gap = fixed(20.0).cut_at(&[0.0, 1.0, 3.0, 10.0]).unwrap_err();
        assert!(gap.starts_with("7.000s without a keyframe from 3.000s"), "{gap}");
        let tail = fixed(20.0).cut_at(&[0.0, 1.0, 3.0, 5.0, 7.0]).unwrap_err();
        assert!(tail.starts_with("13.000s without a keyframe from 7.000s"), "{tail}");
        assert!(fixed(0.5).cut_at(&[0.0]).is_ok(), "one short segment");
        let many: Vec<f64> = (0..20_000).map(|k| k as f64).collect();
        assert!(fixed(20_000.0).cut_at(&many).unwrap_err().contains("at most 6000"));
    }

    proptest::proptest! {
        #[test]
        fn cut_timelines_start_every_segment_on_a_keyframe(gaps in proptest::collection::vec(0.04f64..5.0, 1..60), tail in 0.04f64..5.0) {
            let keyframes: Vec<f64> = std::iter::once(0.0).chain(gaps.iter().scan(0.0, |t, g| { *t += g; Some(*t) })).collect();
            let duration = keyframes.last().unwrap() + tail;
            if let Ok(t) = fixed(duration).cut_at(&keyframes) {
                let sum: f64 = (0..t.count()).map(|k| t.duration_of(k)).sum();
                proptest::prop_assert!((sum - duration).abs() < 1e-6);
                for k in 1..t.count() {
                    proptest::prop_assert!(keyframes.contains(&t.start(k)));
                    proptest::prop_assert_eq!(t.segment_at(t.start(k)), k);
                    proptest::prop_assert!(t.duration_of(k - 1) >= 1.0 - 1e-6 && t.duration_of(k) <= 6.0 + 1e-6);
                }
            }
        }

        #[test]
        fn durations_sum_to_the_source(duration in 0.05f64..20000.0, s in 1u32..30, f in 1u32..30, fps in 5.0f64..120.0) {
            let t = Timeline { duration, segment_seconds: s, first_seconds: f.min(s), fps, cuts: None };
            for k in 1..t.count() {
                proptest::prop_assert!(t.segment_at(t.start(k)) == k);
            }
            let sum: f64 = (0..t.count()).map(|k| t.duration_of(k)).sum();
            proptest::prop_assert!((sum - duration).abs() < 1.0 / fps + 0.002, "sum {} vs {}", sum, duration);
            proptest::prop_assert!(t.count() >= 1);
        }
    }
}
