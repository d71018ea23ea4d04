//! Reading a source with ffprobe: duration, size, frame rate and streams. Parsing is pure
//! ([`parse`]); [`probe`] adds the file checks and the ffprobe process.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// What the engine needs to know about a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaInfo {
    /// Duration in seconds.
    pub duration: f64,
    /// Coded width of the video stream.
    pub width: u32,
    /// Coded height of the video stream.
    pub height: u32,
    /// Average frame rate (frames per second).
    pub fps: f64,
    /// Video codec name as ffprobe spells it.
    pub video_codec: String,
    /// Bits per sample of the video (8 or 10, ...).
    pub bit_depth: u32,
    /// Absolute index of the video stream.
    pub video_index: u32,
    /// Audio streams in file order.
    pub audio: Vec<AudioStream>,
    /// The container as ffprobe names it (`matroska,webm`, `mpegts`, ...), when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub format: String,
    /// Where the container's clock starts (ffprobe's `start_time`, seconds): negative when
    /// audio priming is stored as time before zero (Matroska and MP4 written by ffmpeg 7.1).
    #[serde(default, skip_serializing_if = "is_default")]
    pub start_time: f64,
    /// The video's sample aspect ratio (width:height of one pixel), when it is not square: a
    /// DVD's 720x480 at 32:27 is shown 16:9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sar: Option<[u32; 2]>,
    /// The video's field order as ffprobe names it (`progressive`, `tt`, `bb`, `tb`, `bt`;
    /// empty when unknown): interlaced video is deinterlaced before it is upscaled.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field_order: String,
    /// Display rotation in degrees (the size above is already upright).
    #[serde(default, skip_serializing_if = "is_default")]
    pub rotation: i64,
    /// Subtitle streams in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtitles: Vec<SubtitleStream>,
    /// How many chapters the source has.
    #[serde(default, skip_serializing_if = "is_default")]
    pub chapters: u32,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// How far before a seek point a container without a keyframe index is entered: MPEG-TS and
/// program streams are sought by byte position and land after the keyframe that the point
/// needs (a seek to 17 s of a recording with 2 s GOPs lost its first 31 frames).
const UNINDEXED_PREROLL: f64 = 12.0;

/// How far before a seek point an indexed container whose clock does not start at zero is
/// entered. ffmpeg (5.1, 7.1 and 9.0 alike) drops the copied packets before an input `-ss`
/// on a clock `start_time` off the one it seeks and trims video on: a Matroska file starting
/// at -0.023 s lost the AAC packet just before each seek point (1723 of 1724). Entered a
/// second early, the output `-ss` trims audio and video on one clock.
const OFFSET_CLOCK_PREROLL: f64 = 1.0;

impl MediaInfo {
    /// Whether the video is interlaced (a field order ffprobe read from the stream).
    pub fn interlaced(&self) -> bool {
        matches!(self.field_order.as_str(), "tt" | "bb" | "tb" | "bt")
    }

    /// The width the picture is shown at, in square pixels (the height stays).
    pub fn display_width(&self) -> f64 {
        match self.sar {
            Some([n, d]) if n > 0 && d > 0 => self.width as f64 * n as f64 / d as f64,
            _ => self.width as f64,
        }
    }

    /// Seconds before a seek point that a run enters the source, so that decoding starts from a
    /// keyframe before it (the frames before the point are trimmed exactly): none for the
    /// containers whose index finds that keyframe (Matroska, MP4) and whose clock starts at
    /// zero.
    pub fn seek_preroll(&self) -> f64 {
        let indexed = ["matroska", "webm", "mov", "mp4"].iter().any(|f| self.format.split(',').any(|n| n == *f));
        match (indexed, self.start_time.abs() < 1e-6) {
            (true, true) => 0.0,
            (true, false) => OFFSET_CLOCK_PREROLL,
            (false, _) => UNINDEXED_PREROLL,
        }
    }

    /// Why a caller's description cannot be a video ffprobe would accept, if it cannot.
    pub fn implausible(&self) -> Option<String> {
        let finite_positive = |v: f64| v.is_finite() && v > 0.0;
        if !finite_positive(self.duration) {
            Some(format!("duration {} is not a positive number of seconds", self.duration))
        } else if self.width < 2 || self.height < 2 {
            Some(format!("size {}x{} is too small", self.width, self.height))
        } else if !finite_positive(self.fps) {
            Some(format!("frame rate {} is out of range", self.fps))
        } else if self.video_codec.is_empty() {
            Some("video_codec is empty".into())
        } else {
            None
        }
    }

    /// Where this description and ffprobe's `truth` differ in anything a plan uses (the
    /// duration and frame rate within rounding); `None` when they agree.
    pub fn contradicts(&self, truth: &MediaInfo) -> Option<String> {
        let mut diffs = Vec::new();
        let mut exact = |name: &str, ours: String, real: String| {
            if ours != real {
                diffs.push(format!("{name} {ours} (ffprobe: {real})"));
            }
        };
        exact("size", format!("{}x{}", self.width, self.height), format!("{}x{}", truth.width, truth.height));
        exact("video_codec", self.video_codec.clone(), truth.video_codec.clone());
        exact("bit_depth", self.bit_depth.to_string(), truth.bit_depth.to_string());
        exact("video_index", self.video_index.to_string(), truth.video_index.to_string());
        // What a plan reads of each audio stream; profiles only when the description gives
        // them (Jellyfin's does not), languages and default flags never.
        let profiles = self.audio.iter().all(|a| a.profile.is_some());
        let planned = |list: &[AudioStream]| {
            let one = |a: &AudioStream| {
                let profile = a.profile.as_deref().filter(|_| profiles).map(|p| format!(" {p}")).unwrap_or_default();
                format!("#{} {} {}ch {} Hz{profile}", a.index, a.codec, a.channels, a.sample_rate)
            };
            format!("[{}]", list.iter().map(one).collect::<Vec<_>>().join(", "))
        };
        exact("audio", planned(&self.audio), planned(&truth.audio));
        exact("interlaced", self.interlaced().to_string(), truth.interlaced().to_string());
        let square =
            |m: &MediaInfo| m.sar.filter(|[n, d]| n != d).map(|[n, d]| format!("{n}:{d}")).unwrap_or("1:1".into());
        exact("sar", square(self), square(truth));
        if (self.duration - truth.duration).abs() > 0.05 {
            diffs.push(format!("duration {:.3}s (ffprobe: {:.3}s)", self.duration, truth.duration));
        }
        if (self.fps - truth.fps).abs() > truth.fps * 0.001 {
            diffs.push(format!("fps {:.3} (ffprobe: {:.3})", self.fps, truth.fps));
        }
        (!diffs.is_empty()).then(|| diffs.join(", "))
    }
}

/// One audio stream of a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioStream {
    /// Absolute stream index.
    pub index: u32,
    /// Codec name as ffprobe spells it.
    pub codec: String,
    /// Channel count.
    pub channels: u32,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// The codec's profile as ffprobe names it (`LC`, `HE-AAC`, ...), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Its language tag (`eng`, `fre`, ...), when the file names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Whether the file marks it the default track.
    #[serde(default, skip_serializing_if = "is_default")]
    pub default: bool,
}

/// One subtitle stream of a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubtitleStream {
    /// Absolute stream index.
    pub index: u32,
    /// Codec name as ffprobe spells it (`subrip`, `ass`, `dvd_subtitle`, ...).
    pub codec: String,
    /// Its language tag, when the file names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Whether the file marks it forced (shown even with subtitles off).
    #[serde(default, skip_serializing_if = "is_default")]
    pub forced: bool,
}

impl AudioStream {
    /// Whether HLS can carry it as it is, announced `mp4a.40.2`: AAC-LC (an unknown profile is
    /// taken for LC, the profile nearly every file has).
    pub fn copyable(&self) -> bool {
        self.codec == "aac" && self.profile.as_deref().is_none_or(|p| p == "LC")
    }
}

#[derive(Deserialize)]
struct Output {
    #[serde(default)]
    streams: Vec<Stream>,
    format: Option<Format>,
    #[serde(default)]
    chapters: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Stream {
    index: u32,
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    pix_fmt: Option<String>,
    sample_aspect_ratio: Option<String>,
    field_order: Option<String>,
    channels: Option<u32>,
    sample_rate: Option<String>,
    profile: Option<String>,
    duration: Option<String>,
    start_time: Option<String>,
    nb_frames: Option<String>,
    #[serde(default)]
    disposition: std::collections::HashMap<String, i64>,
    #[serde(default)]
    side_data_list: Vec<serde_json::Value>,
    #[serde(default)]
    tags: std::collections::HashMap<String, String>,
}

impl Stream {
    /// Display rotation in degrees (display matrix side data, or the legacy `rotate` tag).
    fn rotation(&self) -> i64 {
        self.side_data_list
            .iter()
            .find_map(|d| d.get("rotation").and_then(|r| r.as_f64()))
            .map(|r| r.round() as i64)
            .or_else(|| self.tags.get("rotate").and_then(|r| r.parse().ok()))
            .unwrap_or(0)
    }

    /// The stream's own duration: ffprobe's (MP4, MPEG-TS) or Matroska's `DURATION` tag
    /// (`HH:MM:SS.nnnnnnnnn`).
    fn video_duration(&self) -> Option<f64> {
        seconds(self.duration.as_deref()).or_else(|| {
            let tag = self.tags.iter().find(|(k, _)| k.eq_ignore_ascii_case("duration"))?.1;
            let mut parts = tag.split(':');
            let (h, m, s) = (parts.next()?.parse::<f64>().ok()?, parts.next()?.parse::<f64>().ok()?, parts.next()?);
            Some(h * 3600.0 + m * 60.0 + s.parse::<f64>().ok()?).filter(|d| d.is_finite() && *d > 0.0)
        })
    }

    fn language(&self) -> Option<String> {
        self.tags.get("language").filter(|l| !l.is_empty() && *l != "und").cloned()
    }

    fn flag(&self, name: &str) -> bool {
        self.disposition.get(name).copied().unwrap_or(0) != 0
    }

    /// The sample aspect ratio, when it is known and not square.
    fn sar(&self) -> Option<[u32; 2]> {
        let (n, d) = self.sample_aspect_ratio.as_deref()?.split_once(':')?;
        let (n, d): (u32, u32) = (n.parse().ok()?, d.parse().ok()?);
        (n > 0 && d > 0 && n != d).then_some([n, d])
    }
}

#[derive(Deserialize)]
struct Format {
    format_name: Option<String>,
    duration: Option<String>,
    start_time: Option<String>,
}

fn rate(text: Option<&str>) -> Option<f64> {
    let (n, d) = text?.split_once('/')?;
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    // Any positive rate: the plan says which it takes, naming the rate it refuses.
    (n > 0.0 && d > 0.0).then(|| n / d).filter(|r| r.is_finite())
}

fn seconds(text: Option<&str>) -> Option<f64> {
    text?.parse::<f64>().ok().filter(|d| d.is_finite() && *d > 0.0)
}

fn bit_depth(pix_fmt: Option<&str>) -> u32 {
    let f = pix_fmt.unwrap_or("");
    if f.contains("p12") || f.contains("p012") {
        12
    } else if f.contains("p10") || f.contains("p010") {
        10
    } else {
        8
    }
}

/// Parses `ffprobe -print_format json -show_format -show_streams` output.
pub fn parse(json: &str) -> Result<MediaInfo> {
    let out: Output =
        serde_json::from_str(json).map_err(|e| Error::bad_input(format!("unreadable ffprobe output: {e}")))?;
    let format = out.format.ok_or_else(|| Error::bad_input("not a media file"))?;
    let video = out
        .streams
        .iter()
        .find(|s| {
            s.codec_type.as_deref() == Some("video") && s.disposition.get("attached_pic").copied().unwrap_or(0) == 0
        })
        .ok_or_else(|| Error::bad_input("no video stream (audio-only or not a video file)"))?;
    let format_name = format.format_name.as_deref().unwrap_or("");
    let still = format_name.contains("image2")
        || format_name.ends_with("_pipe")
        || video.nb_frames.as_deref() == Some("1") && seconds(format.duration.as_deref()).is_none();
    if still {
        return Err(Error::bad_input("a still image, not a video"));
    }
    let (width, height) = match (video.width, video.height) {
        (Some(w), Some(h)) if w >= 2 && h >= 2 => (w, h),
        _ => return Err(Error::bad_input("video stream has no usable size (corrupt file?)")),
    };
    // ffmpeg turns rotated video upright while decoding: plan with the upright size (and the
    // pixel's aspect turned with it).
    let sideways = video.rotation().rem_euclid(180) == 90;
    let (width, height) = if sideways { (height, width) } else { (width, height) };
    let sar = video.sar().map(|[n, d]| if sideways { [d, n] } else { [n, d] });
    // The timeline follows the video (a file whose audio runs on past it, 20 s of audio and
    // 10 s of video, would plan segments that no run can make), to the video's end on the
    // file's clock: where it starts (MPEG-TS video ~20 ms after the audio) plus how long it lasts.
    let format_duration = seconds(format.duration.as_deref());
    let clock = |t: Option<&str>| t.and_then(|t| t.parse::<f64>().ok()).filter(|t| t.is_finite());
    let format_start = clock(format.start_time.as_deref());
    let video_offset = match (clock(video.start_time.as_deref()), format_start) {
        (Some(v), Some(f)) => (v - f).max(0.0),
        _ => 0.0,
    };
    let duration = match (video.video_duration().map(|d| d + video_offset), format_duration) {
        (Some(v), Some(f)) => Some(v.min(f)),
        (v, f) => v.or(f),
    }
    .ok_or_else(|| Error::bad_input("unknown duration (truncated or corrupt file?)"))?;
    let fps = rate(video.avg_frame_rate.as_deref())
        .or_else(|| rate(video.r_frame_rate.as_deref()))
        .ok_or_else(|| Error::bad_input("unknown frame rate (corrupt file?)"))?;
    let audio = out
        .streams
        .iter()
        .filter(|s| s.codec_type.as_deref() == Some("audio"))
        .map(|s| AudioStream {
            index: s.index,
            codec: s.codec_name.clone().unwrap_or_default(),
            channels: s.channels.unwrap_or(2).clamp(1, 8),
            sample_rate: s.sample_rate.as_deref().and_then(|r| r.parse().ok()).unwrap_or(48_000),
            profile: s.profile.clone(),
            language: s.language(),
            default: s.flag("default"),
        })
        .collect();
    let subtitles = out
        .streams
        .iter()
        .filter(|s| s.codec_type.as_deref() == Some("subtitle"))
        .map(|s| SubtitleStream {
            index: s.index,
            codec: s.codec_name.clone().unwrap_or_default(),
            language: s.language(),
            forced: s.flag("forced"),
        })
        .collect();
    Ok(MediaInfo {
        duration,
        width,
        height,
        fps,
        video_codec: video.codec_name.clone().unwrap_or_default(),
        bit_depth: bit_depth(video.pix_fmt.as_deref()),
        video_index: video.index,
        audio,
        format: format_name.to_owned(),
        start_time: format_start.unwrap_or(0.0),
        sar,
        field_order: video.field_order.clone().filter(|f| f != "unknown").unwrap_or_default(),
        rotation: video.rotation(),
        subtitles,
        chapters: out.chapters.len().min(u32::MAX as usize) as u32,
    })
}

/// ffmpeg and ffprobe read a bare path as a URL when it holds `:` (and as an option when it
/// starts with `-`): the `file:` protocol on an absolute path is the one unambiguous spelling.
pub fn input_url(path: &Path) -> std::ffi::OsString {
    let mut url = std::ffi::OsString::from("file:");
    url.push(path.as_os_str());
    url
}

/// Checks that `path` is a readable regular file, then probes it with ffprobe (bounded).
pub async fn probe(ffprobe: &Path, path: &Path) -> Result<MediaInfo> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::bad_input(format!("input not found: {}", path.display())),
        _ => Error::bad_input(format!("input not readable: {}: {e}", path.display())),
    })?;
    if meta.is_dir() {
        return Err(Error::bad_input(format!("input is a directory: {}", path.display())));
    }
    if meta.len() == 0 {
        return Err(Error::bad_input(format!("input is empty: {}", path.display())));
    }
    std::fs::File::open(path).map_err(|e| Error::bad_input(format!("input not readable: {}: {e}", path.display())))?;
    let out =
        run_ffprobe(ffprobe, &["-print_format", "json", "-show_format", "-show_streams", "-show_chapters"], path, 60)
            .await
            .map_err(|why| Error::bad_input(format!("not a readable video ({why})")))?;
    parse(&out)
}

/// Runs ffprobe (`-v error`, then `args`) on `path`, bounded by `timeout_seconds`; its output,
/// or ffprobe's last error line (an error of our own when it cannot run at all).
pub(crate) async fn run_ffprobe(
    ffprobe: &Path,
    args: &[&str],
    path: &Path,
    timeout_seconds: u64,
) -> std::result::Result<String, String> {
    let mut argv: Vec<std::ffi::OsString> = ["-v", "error"].iter().chain(args).map(Into::into).collect();
    argv.push(input_url(path));
    let out =
        crate::process::Spawn::new(ffprobe, &argv).output(Duration::from_secs(timeout_seconds)).await.map_err(|e| {
            match e {
                crate::process::RunError::TimedOut(_) => format!("ffprobe timed out after {timeout_seconds} s"),
                crate::process::RunError::Start(e) => format!("cannot run ffprobe {}: {e}", ffprobe.display()),
            }
        })?;
    // A host that reaps our children (.NET as PID 1) leaves the status unknown: judge by output.
    let failed = match out.exit {
        crate::process::Exit::Success => false,
        crate::process::Exit::Unknown => out.stdout.is_empty(),
        crate::process::Exit::Failed(_) => true,
    };
    if failed {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(why.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("unknown error").to_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIP: &str = r#"{"streams":[
      {"index":0,"codec_type":"video","codec_name":"h264","width":320,"height":180,
       "avg_frame_rate":"30000/1001","r_frame_rate":"30000/1001","pix_fmt":"yuv420p","disposition":{"attached_pic":0}},
      {"index":1,"codec_type":"audio","codec_name":"aac","channels":2,"sample_rate":"44100"},
      {"index":2,"codec_type":"subtitle","codec_name":"subrip"}],
      "format":{"format_name":"matroska,webm","duration":"20.020000"}}"#;

    #[test]
    fn a_description_agrees_within_rounding_and_names_every_difference() {
        let truth = parse(CLIP).unwrap();
        let rounded = MediaInfo { duration: 20.02, fps: 29.97, ..truth.clone() };
        assert_eq!(rounded.contradicts(&truth), None, "Jellyfin's ticks and float frame rate");
        let wrong = MediaInfo { width: 1920, height: 1080, fps: 25.0, audio: vec![], ..truth.clone() };
        let why = wrong.contradicts(&truth).unwrap();
        assert!(
            why.starts_with("size 1920x1080 (ffprobe: 320x180), audio [] (ffprobe: [#1 aac 2ch 44100 Hz])"),
            "{why}"
        );
        let profiled = |p: &str| MediaInfo {
            audio: vec![AudioStream { profile: Some(p.into()), ..truth.audio[0].clone() }],
            ..truth.clone()
        };
        assert_eq!(
            profiled("LC").contradicts(&MediaInfo { audio: vec![], ..truth.clone() }).as_deref(),
            Some("audio [#1 aac 2ch 44100 Hz LC] (ffprobe: [])")
        );
        assert_eq!(truth.contradicts(&profiled("HE-AAC")), None, "a description without profiles");
        assert!(profiled("LC")
            .contradicts(&profiled("HE-AAC"))
            .unwrap()
            .contains("LC] (ffprobe: [#1 aac 2ch 44100 Hz HE-AAC]"));
        let dvd = MediaInfo { field_order: "tt".into(), sar: Some([32, 27]), ..truth.clone() };
        assert_eq!(
            truth.contradicts(&dvd).as_deref(),
            Some("interlaced false (ffprobe: true), sar 1:1 (ffprobe: 32:27)")
        );
        assert!(why.ends_with("fps 25.000 (ffprobe: 29.970)"), "{why}");
        assert_eq!(truth.implausible(), None);
        assert!(MediaInfo { duration: f64::NAN, ..truth.clone() }.implausible().unwrap().contains("duration"));
        assert!(MediaInfo { width: 0, ..truth.clone() }.implausible().unwrap().contains("size 0x180"));
        assert!(MediaInfo { fps: 0.0, ..truth.clone() }.implausible().unwrap().contains("frame rate"));
        assert!(MediaInfo { video_codec: String::new(), ..truth }.implausible().unwrap().contains("video_codec"));
    }

    #[test]
    fn reads_video_and_audio_streams() {
        let m = parse(CLIP).unwrap();
        assert_eq!((m.width, m.height, m.video_index), (320, 180, 0));
        assert!((m.fps - 29.97).abs() < 0.01);
        assert!((m.duration - 20.02).abs() < 1e-9);
        assert_eq!(m.audio.len(), 1);
        assert_eq!(m.audio[0].sample_rate, 44100);
        assert_eq!(m.bit_depth, 8);
    }

    #[test]
    fn the_duration_is_the_videos_when_the_audio_runs_on() {
        let with = |video: &str| {
            let j = format!(
                r#"{{"streams":[{{"index":0,"codec_type":"video","width":64,"height":64,"avg_frame_rate":"25/1",{video}}},
                {{"index":1,"codec_type":"audio","codec_name":"aac"}}],"format":{{"format_name":"matroska","duration":"20.000000"}}}}"#
            );
            parse(&j).unwrap().duration
        };
        assert_eq!(with(r#""tags":{"DURATION":"00:00:10.040000000"}"#), 10.04);
        assert_eq!(with(r#""duration":"10.000000""#), 10.0);
        assert_eq!(with(r#""tags":{"DURATION":"01:00:00.000000000"}"#), 20.0, "never past the file's end");
        assert_eq!(with(r#""tags":{"DURATION":"junk"}"#), 20.0);
        // On the file's clock: video starting 20 ms after the audio ends 20 ms later too.
        let ts = r#"{"streams":[{"index":0,"codec_type":"video","width":64,"height":64,"avg_frame_rate":"25/1",
            "start_time":"1.420000","duration":"9.500000"}],"format":{"format_name":"mpegts","duration":"9.530000","start_time":"1.400000"}}"#;
        assert!((parse(ts).unwrap().duration - 9.52).abs() < 1e-9);
    }

    #[test]
    fn audio_only_is_refused() {
        let j = r#"{"streams":[{"index":0,"codec_type":"audio","codec_name":"flac"}],"format":{"format_name":"flac","duration":"3"}}"#;
        assert!(parse(j).unwrap_err().message.contains("no video stream"));
    }

    #[test]
    fn cover_art_is_not_a_video_stream() {
        let j = r#"{"streams":[{"index":0,"codec_type":"audio"},{"index":1,"codec_type":"video","width":500,"height":500,"disposition":{"attached_pic":1}}],"format":{"format_name":"mp3","duration":"3"}}"#;
        assert!(parse(j).is_err());
    }

    #[test]
    fn still_image_is_refused() {
        let j = r#"{"streams":[{"index":0,"codec_type":"video","codec_name":"png","width":64,"height":64,"avg_frame_rate":"25/1"}],"format":{"format_name":"png_pipe"}}"#;
        assert!(parse(j).unwrap_err().message.contains("still image"));
    }

    #[test]
    fn missing_duration_is_refused() {
        let j = r#"{"streams":[{"index":0,"codec_type":"video","width":64,"height":64,"avg_frame_rate":"25/1"}],"format":{"format_name":"matroska"}}"#;
        assert!(parse(j).unwrap_err().message.contains("duration"));
    }

    #[test]
    fn a_clock_that_does_not_start_at_zero_is_entered_early() {
        let with_start = |format: &str, start: &str| {
            let j = format!(
                r#"{{"streams":[{{"index":0,"codec_type":"video","width":320,"height":180,"avg_frame_rate":"24/1"}}],
                "format":{{"format_name":"{format}","duration":"2","start_time":"{start}"}}}}"#
            );
            let m = parse(&j).unwrap();
            (m.start_time, m.seek_preroll())
        };
        assert_eq!(with_start("matroska,webm", "0.000000"), (0.0, 0.0));
        assert_eq!(with_start("matroska,webm", "-0.023000"), (-0.023, OFFSET_CLOCK_PREROLL));
        assert_eq!(with_start("mov,mp4,m4a,3gp,3g2,mj2", "0.500000"), (0.5, OFFSET_CLOCK_PREROLL));
        assert_eq!(with_start("mpegts", "10.000000"), (10.0, UNINDEXED_PREROLL));
        assert_eq!(with_start("matroska,webm", "N/A"), (0.0, 0.0));
    }

    #[test]
    fn rotated_video_is_planned_upright() {
        let j = r#"{"streams":[{"index":0,"codec_type":"video","width":320,"height":180,"avg_frame_rate":"24/1",
            "side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]}],"format":{"format_name":"mov","duration":"2"}}"#;
        let m = parse(j).unwrap();
        assert_eq!((m.width, m.height), (180, 320));
    }

    #[test]
    fn ten_bit_is_detected() {
        assert_eq!(bit_depth(Some("yuv420p10le")), 10);
        assert_eq!(bit_depth(Some("p010le")), 8 + 2);
        assert_eq!(bit_depth(Some("nv12")), 8);
    }

    proptest::proptest! {
        #[test]
        fn random_ffprobe_output_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = parse(&String::from_utf8_lossy(&data));
        }

        #[test]
        fn mangled_real_output_never_panics(cut in 0usize..CLIP.len(), junk in "[{}\\[\\]\":,0-9a-z/ ]{0,20}") {
            let mut text = CLIP[..cut].to_owned();
            text.push_str(&junk);
            text.push_str(&CLIP[cut..]);
            let _ = parse(&text);
        }
    }

    #[test]
    fn garbage_is_a_clear_error_not_a_panic() {
        for junk in ["", "{", "[]", "{\"streams\":7}", "\u{0}\u{1}"] {
            assert_eq!(parse(junk).unwrap_err().code, crate::ErrorCode::BadInput);
        }
    }
}
