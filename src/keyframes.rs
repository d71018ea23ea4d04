//! Where a source's video can be cut without re-encoding: its keyframes, read with one
//! ffprobe pass over the packets (no decoding). Parsing is pure ([`parse`]); [`scan`] runs
//! ffprobe.

use crate::error::{Error, Result};
use crate::probe::run_ffprobe;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The keyframes of a source's video stream and what lies between them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyframes {
    /// Keyframe times in seconds on the timeline ffmpeg's `-copyts -start_at_zero` gives the
    /// source (the file's start time subtracted), ascending. The first is the stream's first
    /// packet: a stream that does not open with a keyframe has no usable index.
    pub times: Vec<f64>,
    /// Video bytes from each keyframe up to the next (to the end for the last one).
    pub gop_bytes: Vec<u64>,
    /// H.264 `profile_idc` of the stream, from its sequence parameter set (0 when unknown).
    pub profile_idc: u8,
    /// The constraint-flag byte that follows it.
    pub constraints: u8,
    /// H.264 `level_idc` (level x 10).
    pub level_idc: u8,
    /// Display rotation in degrees (from the display matrix): MPEG-TS has no place for it, so a
    /// copy of a rotated stream would show it on its side.
    #[serde(default)]
    pub rotation: i64,
    /// Every video frame's presentation time on the same timeline, ascending: what each segment
    /// must hold, to the frame (kept in the job's `frames.bin`, not in the manifest).
    #[serde(skip)]
    pub frames: std::sync::Arc<[f64]>,
}

impl Keyframes {
    /// The stream's RFC 6381 codec, when it is an H.264 profile every player decodes (8-bit
    /// 4:2:0: Constrained Baseline, Main, High).
    pub fn playable_avc(&self) -> Option<String> {
        matches!(self.profile_idc, 66 | 77 | 100)
            .then(|| format!("avc1.{:02x}{:02x}{:02x}", self.profile_idc, self.constraints, self.level_idc))
    }
}

/// `(profile_idc, constraint flags, level_idc)` from a stream's extradata as ffprobe dumps it
/// (`-show_data`, compact-escaped hex lines): an `avcC` record (MP4, Matroska) or an Annex B
/// sequence parameter set (MPEG-TS).
fn avc_profile(dump: &str) -> Option<(u8, u8, u8)> {
    let mut bytes = Vec::new();
    for line in dump.split("\\n") {
        let Some((_, rest)) = line.split_once(": ") else { continue };
        let hex: String = rest.split("  ").next().unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect();
        bytes.extend((0..hex.len() / 2).filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()));
    }
    if bytes.first() == Some(&1) && bytes.len() >= 4 {
        return Some((bytes[1], bytes[2], bytes[3]));
    }
    let sps = bytes.windows(3).position(|w| w == [0, 0, 1]).map(|at| at + 3)?;
    (bytes.get(sps)? & 0x1f == 7).then(|| Some((*bytes.get(sps + 1)?, *bytes.get(sps + 2)?, *bytes.get(sps + 3)?)))?
}

/// Parses what [`scan`]'s two ffprobe passes print for one video stream, one after the other
/// (`-of compact=p=1:nk=0`: packets in file order, the format's start time, the stream's
/// extradata dump and rotation).
pub fn parse(text: &str) -> Result<Keyframes> {
    let mut packets: Vec<(f64, u64, bool)> = Vec::new();
    let (mut start, mut profile, mut rotation) = (0.0, (0, 0, 0), 0);
    for line in text.lines() {
        let section = line.split('|').next().unwrap_or("");
        let value = |key: &str| line.split('|').find_map(|f| f.strip_prefix(key)?.strip_prefix('='));
        match section {
            "packet" => {
                let size = value("size").and_then(|s| s.parse().ok()).unwrap_or(0);
                let key = value("flags").is_some_and(|f| f.starts_with('K'));
                match value("pts_time").and_then(|t| t.parse::<f64>().ok()).filter(|t| t.is_finite()) {
                    Some(t) => packets.push((t, size, key)),
                    // A packet without a time still carries bytes of the GOP it is in.
                    None => {
                        if let Some(last) = packets.last_mut() {
                            last.1 += size;
                        }
                    }
                }
            }
            // The dump is last on its line and may hold an escaped separator.
            "stream" => {
                profile = line.split_once("extradata=").and_then(|(_, d)| avc_profile(d)).unwrap_or_default();
                let number =
                    |r: &str| r.split(|c: char| !matches!(c, '-' | '.' | '0'..='9')).next()?.parse::<f64>().ok();
                // `|side_data|rotation=-90` (ffprobe 5.1), `|side_datum/display_matrix:rotation=90` (7.1, 9.0).
                let rotation_of = |field: &str| {
                    let (key, r) = field.split_once('=')?;
                    (key == "rotation" || key.ends_with(":rotation")).then(|| number(r))?
                };
                rotation = line.split('|').rev().find_map(rotation_of).unwrap_or(0.0) as i64;
            }
            "format" => start = value("start_time").and_then(|t| t.parse().ok()).unwrap_or(0.0),
            _ => {}
        }
    }
    match packets.first() {
        None => return Err(Error::bad_input("the video stream has no packets")),
        Some(&(_, _, false)) => return Err(Error::bad_input("the video stream does not start with a keyframe")),
        Some(_) => {}
    }
    let frames = on_timeline(packets.iter().map(|p| p.0), start);
    // Keyframes as (time, bytes up to the next, clean). A keyframe is a clean cut only if
    // nothing decoded after it is shown before it: an open GOP's leading pictures refer to the
    // GOP before, and a copy starting there would show them broken.
    let mut gops: Vec<(f64, u64, bool)> = Vec::new();
    for (t, size, key) in packets {
        let t = t - start;
        // Decode order: a keyframe whose time goes backwards is not a place to cut.
        if key && gops.last().is_none_or(|g| t > g.0) {
            gops.push((t, 0, true));
        }
        let gop = gops.last_mut().expect("the first packet is a keyframe");
        gop.1 += size;
        gop.2 &= t >= gop.0 - 1e-6;
    }
    let (mut times, mut gop_bytes) = (Vec::new(), Vec::<u64>::new());
    for (t, bytes, clean) in gops {
        match gop_bytes.last_mut() {
            // An unclean keyframe's GOP belongs to the clean one before it.
            Some(before) if !clean => *before += bytes,
            // The stream's first keyframe stays: it opens the stream, whatever it leads.
            _ => {
                times.push(t);
                gop_bytes.push(bytes);
            }
        }
    }
    Ok(Keyframes {
        times,
        gop_bytes,
        profile_idc: profile.0,
        constraints: profile.1,
        level_idc: profile.2,
        rotation,
        frames: frames.into(),
    })
}

/// Presentation times `pts` on the `-copyts -start_at_zero` timeline (the format's `start`
/// subtracted), ascending: the one rule by which a whole scan and a short read near a cut agree
/// to the bit.
fn on_timeline(pts: impl Iterator<Item = f64>, start: f64) -> Vec<f64> {
    let mut frames: Vec<f64> = pts.map(|t| t - start).collect();
    frames.sort_by(f64::total_cmp);
    frames
}

/// How far (seconds) before and after a cut [`frames_near`] reads: past the keyframe a seek
/// lands on, and past the next frame of any frame rate over 0.25 fps.
const NEAR_CUT: (f64, f64) = (3.0, 4.0);

/// The source's video frame times around each timeline point in `around`, from one short
/// ffprobe pass (`-read_intervals`): where a run cuts before the whole scan is read (a seek
/// right after Play), on the very times the scan will give, so every run agrees on each join.
pub async fn frames_near(ffprobe: &Path, path: &Path, start_time: f64, around: &[f64]) -> Result<Vec<f64>> {
    let intervals: Vec<String> = around
        .iter()
        .map(|t| format!("{:.6}%{:.6}", (start_time + t - NEAR_CUT.0).max(0.0), start_time + t + NEAR_CUT.1))
        .collect();
    let intervals = intervals.join(",");
    let args = ["-select_streams", "V:0", "-read_intervals", &intervals];
    let args = [&args[..], &["-show_entries", "packet=pts_time:format=start_time", "-of", "compact=p=1:nk=0"]].concat();
    let text = run_ffprobe(ffprobe, &args, path, 30)
        .await
        .map_err(|e| Error::bad_input(format!("cannot read the frames near a cut ({e})")))?;
    let value = |line: &str, key: &str| {
        line.split('|').find_map(|f| f.strip_prefix(key)?.strip_prefix('=')).and_then(|t| t.parse::<f64>().ok())
    };
    let start = text.lines().filter(|l| l.starts_with("format|")).find_map(|l| value(l, "start_time")).unwrap_or(0.0);
    let pts = text.lines().filter(|l| l.starts_with("packet|")).filter_map(|l| value(l, "pts_time"));
    let mut frames = on_timeline(pts.filter(|t| t.is_finite()), start);
    frames.dedup();
    Ok(frames)
}

/// Reads the keyframes of the first video stream that is not a cover picture (the one the probe
/// plans with) with one bounded ffprobe pass over its packets
/// (the whole file is read, nothing is decoded) and, beside it, a second one for the stream's
/// parameter sets (a data dump in the packet pass would dump every packet too).
pub async fn scan(ffprobe: &Path, path: &Path) -> Result<Keyframes> {
    let stream = "V:0";
    let compact = "compact=p=1:nk=0";
    let packets =
        ["-select_streams", stream, "-show_entries", "packet=pts_time,size,flags:format=start_time", "-of", compact];
    let header = [
        "-select_streams",
        stream,
        "-show_data",
        "-show_entries",
        "stream=extradata:stream_side_data=rotation",
        "-of",
        compact,
    ];
    let (packets, header) =
        tokio::join!(run_ffprobe(ffprobe, &packets, path, 300), run_ffprobe(ffprobe, &header, path, 60));
    let why = |e: String| Error::bad_input(format!("cannot read the keyframes ({e})"));
    parse(&(packets.map_err(why)? + &header.map_err(why)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframes_are_on_the_start_at_zero_timeline_with_their_gop_bytes() {
        let text = "packet|pts_time=1.423000|size=4000|flags=K_\npacket|pts_time=1.506000|size=100|flags=__\n\
            packet|pts_time=N/A|size=5|flags=__\npacket|pts_time=3.423000|size=3000|flags=K_\n\
            packet|pts_time=3.465000|size=50|flags=__\n\
            stream|extradata=\\n00000000: 0164 0028 ffe1 001a 6764 0028 acd9 4141  .d......gd....AA\\n\n\
            format|start_time=1.400000\n";
        let k = parse(text).unwrap();
        assert_eq!(k.gop_bytes, vec![4105, 3050]);
        assert_eq!(k.frames.len(), 4, "every frame with a time, in presentation order");
        assert!((k.times[0] - 0.023).abs() < 1e-9 && (k.times[1] - 2.023).abs() < 1e-9, "{:?}", k.times);
        assert_eq!(k.playable_avc().as_deref(), Some("avc1.640028"));
    }

    #[test]
    fn an_open_gop_keyframe_is_no_place_to_cut() {
        // Decode order: I(0) P(0.125) B(0.042) | I(1.5, open: B at 1.417 follows) | I(3, closed).
        let text = "packet|pts_time=0|size=10|flags=K_\npacket|pts_time=0.125|size=1|flags=__\n\
            packet|pts_time=0.042|size=1|flags=__\npacket|pts_time=1.5|size=10|flags=K_\n\
            packet|pts_time=1.417|size=1|flags=__\npacket|pts_time=3|size=10|flags=K_\n\
            packet|pts_time=3.125|size=1|flags=__\n";
        let k = parse(text).unwrap();
        assert_eq!((k.times, k.gop_bytes), (vec![0.0, 3.0], vec![23, 11]));
    }

    #[test]
    fn a_stream_that_opens_without_a_keyframe_has_no_index() {
        let text = "packet|pts_time=0.0|size=10|flags=__\npacket|pts_time=1.0|size=10|flags=K_\n";
        assert!(parse(text).unwrap_err().message.contains("does not start with a keyframe"));
        assert!(parse("format|start_time=0\n").unwrap_err().message.contains("no packets"));
    }

    #[test]
    fn the_profile_comes_from_the_parameter_set_and_only_8_bit_avc_is_playable_everywhere() {
        let with = |dump: &str| {
            parse(&format!("packet|pts_time=0|size=1|flags=K_\nstream|extradata=\\n00000000: {dump}\\n\n")).unwrap()
        };
        // An avcC record (x264's Constrained Baseline sets constraint flags 0 and 1), with a
        // `|` in its ASCII column, escaped as ffprobe's compact writer does.
        assert_eq!(
            with("0142 c00c ffe1 0017 6742 c00c da05 067e  .B......gB.....~\\|").playable_avc().as_deref(),
            Some("avc1.42c00c")
        );
        // MPEG-TS: an Annex B parameter set.
        assert_eq!(
            with("0000 0167 4d40 1fda 0506 7e7c 0440 0000  ...gM@....~|.@..").playable_avc().as_deref(),
            Some("avc1.4d401f")
        );
        assert_eq!(with("0000 0001 6764 001f  ....gd..").playable_avc().as_deref(), Some("avc1.64001f"));
        assert_eq!(with("016e 001f ffe1 0017  .n......").playable_avc(), None, "High 10");
        assert_eq!(parse("packet|pts_time=0|size=1|flags=K_\n").unwrap().playable_avc(), None, "no extradata");
        let rotated = with("0164 001f ffe1 0017  .d......\\n|side_data|rotation=-180");
        assert_eq!((rotated.playable_avc().as_deref(), rotated.rotation), (Some("avc1.64001f"), -180));
        let newer = with("0164 001f ffe1 0017  .d......\\n|side_datum/display_matrix:rotation=90");
        assert_eq!(newer.rotation, 90, "ffprobe 7.1 and 9.0 name the side data");
    }

    proptest::proptest! {
        #[test]
        fn any_output_is_an_index_or_an_error(text in "(packet\\|pts_time=[0-9.NA/]{0,4}\\|size=[0-9]{0,3}\\|flags=[K_]{0,2}\n){0,8}") {
            if let Ok(k) = parse(&text) {
                proptest::prop_assert_eq!(k.times.len(), k.gop_bytes.len());
                proptest::prop_assert!(k.times.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }
}
