//! Pure planning: from a probed source, a request and the config to the exact ffmpeg argv of
//! one encoder run. No I/O here, so every backend's command line is snapshot-tested.
//!
//! `mod.rs` holds the plan itself and the choices that make it (target size, audio track, the
//! copying fallback); [`ladder`] the cheaper variants and faster presets; [`argv`] the command
//! line of a run; [`signal`] what the master playlist announces (CODECS, BANDWIDTH).

pub(crate) mod argv;
mod ladder;
mod signal;

pub use argv::{display_args, enc_time_base_demux, escape_filter_value};
pub use signal::hevc_level;

use crate::caps::FfmpegCaps;
use crate::config::{Backend, Codec, Config, StreamRequest};
use crate::error::{Error, Result};
use crate::keyframes::Keyframes;
use crate::probe::{AudioStream, MediaInfo};
use crate::timeline::{Container, Timeline};
use std::path::PathBuf;

/// Output size and codec: the part of a job's identity that decides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Profile {
    /// Output codec.
    pub codec: Codec,
    /// Output width (even).
    pub width: u32,
    /// Output height (even).
    pub height: u32,
    /// Output bit depth (8, or 10 for HEVC from a 10-bit source).
    pub bit_depth: u32,
}

/// The output size for a source shown `display_width` square pixels wide and `height` high:
/// `scale` times higher, capped at `max_height`, at the displayed aspect (square pixels), even
/// dimensions. Refuses a source that would not get any larger.
pub fn target_size(display_width: f64, height: u32, scale: u32, max_height: u32) -> Result<(u32, u32)> {
    let want = (height as u64 * scale as u64).min(max_height as u64) as u32 & !1;
    if want <= height {
        return Err(Error::bad_input(format!(
            "nothing to upscale: source is {display_width:.0}x{height}, target height would be {want}"
        )));
    }
    Ok((even_width(display_width * want as f64 / height as f64), want))
}

/// A picture width rounded to the nearest even number of pixels (encoders need even sizes).
pub(crate) fn even_width(width: f64) -> u32 {
    ((width / 2.0).round() as u32 * 2).max(2)
}

/// The frame rates a plan takes: under one frame a second, segments would hold no picture; far
/// above any camera's, the rate is a container's time base, not the video's.
const FPS_RANGE: (f64, f64) = (1.0, 480.0);

/// The longest source a plan takes (48 h): longer than any film or recording, and a bound on
/// the timeline a header claiming 1e8 s would make (739 MB for each playlist request).
const MAX_DURATION: f64 = 48.0 * 3600.0;

/// Why a source's duration cannot be planned, if it cannot.
fn refuse_duration(duration: f64) -> Result<()> {
    if duration > MAX_DURATION {
        return Err(Error::bad_input(format!(
            "the file claims to last {duration:.0} s, over the {} h Jellyscale plans (a damaged header?)",
            MAX_DURATION / 3600.0
        )));
    }
    Ok(())
}

/// Why a source's frame rate cannot be planned, if it cannot.
fn refuse_frame_rate(fps: f64) -> Result<()> {
    if fps < FPS_RANGE.0 {
        return Err(Error::bad_input(format!(
            "a frame rate of {fps:.3} fps (a slideshow?): under {} frame a second leaves segments without a picture",
            FPS_RANGE.0
        )));
    }
    if fps > FPS_RANGE.1 {
        return Err(Error::bad_input(format!(
            "a frame rate of {fps:.3} fps is above the {} fps Jellyscale upscales",
            FPS_RANGE.1
        )));
    }
    Ok(())
}

/// Picks the audio stream: the requested absolute index, or the first audio stream.
pub fn choose_audio(media: &MediaInfo, requested: Option<u32>) -> Result<Option<AudioStream>> {
    match requested {
        None => Ok(media.audio.first().cloned()),
        Some(i) => media
            .audio
            .iter()
            .find(|a| a.index == i)
            .cloned()
            .map(Some)
            .ok_or_else(|| Error::invalid(format!("audio_stream {i} is not an audio stream of the source"))),
    }
}

/// Everything one encoder run depends on.
#[derive(Debug, Clone)]
pub struct EncodePlan {
    /// Source path (absolute).
    pub input: PathBuf,
    /// What the source holds.
    pub media: MediaInfo,
    /// Output size and codec.
    pub profile: Profile,
    /// A concrete backend (never `Auto`).
    pub backend: Backend,
    /// What the ffmpeg that runs the plan is (version-specific arguments follow it).
    pub ffmpeg: FfmpegCaps,
    /// The segment timeline the runs must follow.
    pub timeline: Timeline,
    /// Audio track to carry, if any.
    pub audio: Option<AudioStream>,
    /// x264/x265 preset for the CPU backend.
    pub cpu_preset: String,
    /// VAAPI render node.
    pub vaapi_device: String,
    /// An mpv-style GLSL shader run by libplacebo instead of lanczos (FSRCNNX, Anime4K, ...).
    pub shader: Option<PathBuf>,
    /// How many encoder presets faster than the configured one this plan runs (0: as
    /// configured); raised when the encoder falls behind a viewer.
    pub speed_step: u32,
    /// A video bitrate cap (bits/s, VBV with a one-second buffer) for the cheaper rungs, so the
    /// master playlist's BANDWIDTH bounds their segments; the saved upscale has none.
    pub bitrate_cap: Option<u64>,
    /// The source's video, when the fallback rung stream-copies it (the timeline then follows
    /// the source's keyframes).
    pub source_copy: Option<SourceCopy>,
    /// This plan copies the source's video instead of encoding it (the fallback rung of a
    /// plan with `source_copy`).
    pub stream_copy: bool,
}

/// A source video that a rung can copy as it is: every player decodes it, and the timeline's
/// segments start at its keyframes.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceCopy {
    /// Its RFC 6381 codec (`avc1.PPCCLL`).
    pub codecs: String,
    /// Its peak video bit rate over the timeline's segments, as HLS defines `BANDWIDTH`.
    pub peak_bitrate: u64,
}

/// What MPEG-TS adds to a stream's bytes: 4 header bytes in every 188, PES headers and clock
/// references, with room to spare.
const TS_OVERHEAD: f64 = 1.05;

/// The fixed timeline cut at the source's keyframes, and the source's video as a rung copies
/// it, when the source suits a copy; why not otherwise.
pub fn source_copy(
    media: &MediaInfo,
    index: &Keyframes,
    fixed: &Timeline,
) -> std::result::Result<(Timeline, SourceCopy), String> {
    if media.video_codec != "h264" {
        return Err(format!("the source's video is {}, not H.264", media.video_codec));
    }
    if media.interlaced() {
        return Err("the source is interlaced: a copy would show its combing".into());
    }
    if index.rotation.rem_euclid(360) != 0 {
        return Err(format!("the source is shown rotated {} degrees (MPEG-TS has no place for that)", index.rotation));
    }
    let codecs = index.playable_avc().ok_or("the source's H.264 profile is not 8-bit 4:2:0")?;
    let cut = fixed.cut_at(&index.times)?;
    let mut sizes = vec![0u32; cut.count() as usize];
    for (&t, &bytes) in index.times.iter().zip(&index.gop_bytes) {
        let k = cut.segment_at(t) as usize;
        sizes[k] = sizes[k].saturating_add(bytes.min(u32::MAX as u64) as u32);
    }
    let peak_bitrate = (crate::timeline::peak_bitrate(&cut, &sizes).unwrap_or(0) as f64 * TS_OVERHEAD) as u64;
    Ok((cut, SourceCopy { codecs, peak_bitrate }))
}

/// What planning a request gives: the plan on the fixed timeline and, when the request asked
/// for a copying fallback and its keyframes were read, the timeline cut at them with the source
/// video to copy (or why the source does not suit a copy). The registry picks one: a job on
/// the fixed timeline made before is kept.
#[derive(Debug)]
pub struct Planned {
    /// The plan on the fixed timeline.
    pub plan: EncodePlan,
    /// The cut alternative, when a copy was asked for.
    pub cut: Option<std::result::Result<(Timeline, SourceCopy), String>>,
}

/// Plans a request for a probed source: the target size, the audio track, the bit depth and the
/// fixed timeline; with `index` (the source's keyframes, read when the request allows a copying
/// fallback) also the timeline cut at them.
pub fn plan(
    input: PathBuf,
    media: MediaInfo,
    index: Option<std::result::Result<&Keyframes, String>>,
    req: &StreamRequest,
    c: &Config,
    backend: Backend,
    ffmpeg: FfmpegCaps,
) -> Result<Planned> {
    refuse_frame_rate(media.fps)?;
    refuse_duration(media.duration)?;
    let (width, height) = target_size(
        media.display_width(),
        media.height,
        req.scale.unwrap_or(c.default_scale),
        req.max_height.unwrap_or(c.max_height),
    )?;
    let audio = choose_audio(&media, req.audio_stream)?;
    let bit_depth = if req.codec == Codec::Hevc && media.bit_depth >= 10 { 10 } else { 8 };
    let timeline = Timeline {
        duration: media.duration,
        segment_seconds: c.segment_seconds,
        first_seconds: c.first_segment_seconds.min(c.segment_seconds),
        fps: media.fps,
        cuts: None,
    };
    let cut = index.map(|index| index.and_then(|index| source_copy(&media, index, &timeline)));
    let plan = EncodePlan {
        input,
        media,
        profile: Profile { codec: req.codec, width, height, bit_depth },
        backend,
        ffmpeg,
        timeline,
        audio,
        cpu_preset: c.cpu_preset.clone(),
        vaapi_device: c.vaapi_device.clone(),
        shader: c.shader_path.clone(),
        speed_step: 0,
        bitrate_cap: None,
        source_copy: None,
        stream_copy: false,
    };
    Ok(Planned { plan, cut })
}

impl EncodePlan {
    /// This plan on a timeline cut at the source's keyframes, its fallback a copy of the source.
    pub fn on_cut(self, (timeline, copy): (Timeline, SourceCopy)) -> EncodePlan {
        EncodePlan { timeline, source_copy: Some(copy), ..self }
    }

    /// Segment container of this plan.
    pub fn container(&self) -> Container {
        Container::for_codec(self.profile.codec)
    }

    /// The source's video this plan copies, if it is a copy.
    pub(crate) fn copied(&self) -> Option<&SourceCopy> {
        self.source_copy.as_ref().filter(|_| self.stream_copy)
    }

    pub(crate) fn ten_bit(&self) -> bool {
        self.profile.bit_depth >= 10
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    pub(crate) fn media(bit_depth: u32) -> MediaInfo {
        MediaInfo {
            duration: 20.0,
            width: 320,
            height: 180,
            fps: 24.0,
            video_codec: "h264".into(),
            bit_depth,
            video_index: 0,
            audio: vec![AudioStream {
                index: 1,
                codec: "aac".into(),
                channels: 2,
                sample_rate: 48000,
                profile: None,
                language: None,
                default: false,
            }],
            format: "matroska,webm".into(),
            start_time: 0.0,
            sar: None,
            field_order: String::new(),
            rotation: 0,
            subtitles: Vec::new(),
            chapters: 0,
        }
    }

    pub(crate) fn plan(backend: Backend, codec: Codec, bit_depth: u32) -> EncodePlan {
        let media = media(bit_depth);
        let (width, height) = target_size(media.display_width(), media.height, 2, 2160).unwrap();
        let out_bits = if codec == Codec::Hevc { bit_depth } else { 8 };
        EncodePlan {
            input: "/media/-odd: name 'q'.mkv".into(),
            audio: media.audio.first().cloned(),
            media,
            profile: Profile { codec, width, height, bit_depth: out_bits },
            backend,
            ffmpeg: FfmpegCaps { version: (5, 1) },
            timeline: Timeline { duration: 20.0, segment_seconds: 4, first_seconds: 4, fps: 24.0, cuts: None },
            cpu_preset: "veryfast".into(),
            vaapi_device: "/dev/dri/renderD128".into(),
            shader: None,
            speed_step: 0,
            bitrate_cap: None,
            source_copy: None,
            stream_copy: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::media;
    use super::*;

    #[test]
    fn target_size_doubles_and_keeps_even_aspect() {
        assert_eq!(target_size(320.0, 180, 2, 2160).unwrap(), (640, 360));
        assert_eq!(target_size(1920.0, 1080, 2, 2160).unwrap(), (3840, 2160));
        assert_eq!(target_size(853.0, 481, 2, 2160).unwrap(), (1706, 962));
        assert_eq!(target_size(720.0, 576, 4, 1080).unwrap(), (1350, 1080));
    }

    #[test]
    fn source_at_target_is_nothing_to_upscale() {
        let e = target_size(3840.0, 2160, 2, 2160).unwrap_err();
        assert!(e.message.contains("nothing to upscale"));
        assert!(target_size(640.0, 360, 1, 2160).is_err());
    }

    #[test]
    fn an_anamorphic_dvd_becomes_square_pixels_at_its_display_aspect() {
        let dvd = |sar| MediaInfo { width: 720, height: 480, sar: Some(sar), ..media(8) };
        // 16:9 and 4:3 NTSC DVDs, doubled and capped at 1080.
        assert_eq!(target_size(dvd([32, 27]).display_width(), 480, 2, 2160).unwrap(), (1706, 960));
        assert_eq!(target_size(dvd([32, 27]).display_width(), 480, 4, 1080).unwrap(), (1920, 1080));
        assert_eq!(target_size(dvd([8, 9]).display_width(), 480, 4, 1080).unwrap(), (1440, 1080));
    }

    #[test]
    fn a_header_claiming_years_is_refused_before_a_timeline_is_made() {
        assert!(refuse_duration(1e8).unwrap_err().message.contains("claims to last 100000000 s, over the 48 h"));
        assert!(refuse_duration(10.0 * 3600.0).is_ok());
    }

    #[test]
    fn slideshow_and_time_base_frame_rates_are_refused_before_encoding() {
        assert!(refuse_frame_rate(0.5).unwrap_err().message.contains("under 1 frame a second"));
        assert!(refuse_frame_rate(1000.0).unwrap_err().message.contains("1000.000 fps is above the 480 fps"));
        assert!(refuse_frame_rate(23.976).is_ok() && refuse_frame_rate(240.0).is_ok());
    }

    #[test]
    fn unknown_audio_stream_is_invalid() {
        assert!(choose_audio(&media(8), Some(7)).is_err());
        assert_eq!(choose_audio(&media(8), None).unwrap().unwrap().index, 1);
    }
}
