//! Engine configuration and stream requests: the JSON accepted by the CLI and the C ABI.
//! Unknown fields are rejected so a typo never silently falls back to a default.

use crate::error::{Error, Result};
use crate::probe::MediaInfo;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which encoder family runs the upscale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The best backend that passes a one-frame test encode on this machine, else CPU.
    #[default]
    Auto,
    /// libx264/libx265 with the `scale` filter (lanczos).
    Cpu,
    /// NVIDIA: CUDA decode, `scale_cuda` lanczos, NVENC.
    Nvenc,
    /// Intel/AMD through VAAPI.
    Vaapi,
    /// Intel Quick Sync.
    Qsv,
}

/// Output video codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// H.264 in MPEG-TS segments: plays everywhere, Chromium included.
    #[default]
    H264,
    /// HEVC in fragmented MP4 segments tagged `hvc1`.
    Hevc,
}

impl Codec {
    /// Lowercase name, as in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::Hevc => "hevc",
        }
    }
}

/// Engine-wide settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Per-job working folders (segments, manifests, ffmpeg logs).
    pub cache_dir: PathBuf,
    /// Where finished files go; defaults to `<cache_dir>/final`.
    pub output_dir: Option<PathBuf>,
    /// ffmpeg binary; found on PATH when absent.
    pub ffmpeg_path: Option<PathBuf>,
    /// ffprobe binary; found beside ffmpeg or on PATH when absent.
    pub ffprobe_path: Option<PathBuf>,
    /// Jobs encoding at once; more wait in the queue.
    pub max_concurrent_jobs: usize,
    /// Jobs allowed to wait; a start beyond that is refused as busy.
    pub max_queued_jobs: usize,
    /// HLS segment length in seconds.
    pub segment_seconds: u32,
    /// Length of the first segment (at most `segment_seconds`): short, so playback starts
    /// sooner.
    pub first_segment_seconds: u32,
    /// Encoder backend.
    pub backend: Backend,
    /// Scale factor used when a request names none.
    pub default_scale: u32,
    /// Output height cap used when a request names none.
    pub max_height: u32,
    /// VAAPI render node.
    pub vaapi_device: String,
    /// libx264/libx265 preset for the CPU backend.
    pub cpu_preset: String,
    /// An mpv-style GLSL upscaling shader (FSRCNNX, Anime4K, RAVU) run through ffmpeg's
    /// libplacebo filter on a Vulkan device instead of lanczos. CPU and NVENC backends only.
    pub shader_path: Option<PathBuf>,
    /// Seconds without a segment request (a viewer stopped or left) before the job's encoder
    /// drops to background priority; it still finishes the saved file.
    pub viewer_idle_seconds: u64,
    /// Resume unfinished jobs found in the cache at engine start (else they wait, `paused`,
    /// until someone starts them again).
    pub resume_unfinished: bool,
    /// How long a start with `copy_fallback` waits for the source's keyframes, in seconds (a film
    /// on a slow disk takes minutes). A read that takes longer goes on in the background and the
    /// job's fallback is encoded; the job stays that one for later starts.
    pub keyframe_read_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        Config {
            cache_dir: base.join("jellyscale"),
            output_dir: None,
            ffmpeg_path: None,
            ffprobe_path: None,
            max_concurrent_jobs: 2,
            max_queued_jobs: 64,
            segment_seconds: 4,
            first_segment_seconds: 1,
            backend: Backend::Auto,
            default_scale: 2,
            max_height: 2160,
            vaapi_device: "/dev/dri/renderD128".to_owned(),
            cpu_preset: "veryfast".to_owned(),
            shader_path: None,
            viewer_idle_seconds: 60,
            resume_unfinished: false,
            keyframe_read_seconds: 3,
        }
    }
}

/// x264/x265 preset names, slowest last.
pub(crate) const PRESETS: &[&str] =
    &["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"];

impl Config {
    /// Parses and validates a JSON config; `""` or `{}` gives the defaults.
    pub fn from_json(text: &str) -> Result<Config> {
        let config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_json::from_str(text).map_err(|e| Error::invalid(format!("config: {e}")))?
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges; a config that passes can run jobs.
    pub fn validate(&self) -> Result<()> {
        let check = |ok: bool, msg: &str| if ok { Ok(()) } else { Err(Error::invalid(format!("config: {msg}"))) };
        check(!self.cache_dir.as_os_str().is_empty(), "cache_dir is empty")?;
        check((1..=64).contains(&self.max_concurrent_jobs), "max_concurrent_jobs must be 1..=64")?;
        check(self.max_queued_jobs <= 100_000, "max_queued_jobs must be at most 100000")?;
        check((1..=60).contains(&self.segment_seconds), "segment_seconds must be 1..=60")?;
        check((1..=60).contains(&self.first_segment_seconds), "first_segment_seconds must be 1..=60")?;
        check((1..=86_400).contains(&self.viewer_idle_seconds), "viewer_idle_seconds must be 1..=86400")?;
        check((1..=8).contains(&self.default_scale), "default_scale must be 1..=8")?;
        check(self.keyframe_read_seconds <= 3600, "keyframe_read_seconds must be at most 3600")?;
        check((144..=8640).contains(&self.max_height), "max_height must be 144..=8640")?;
        check(PRESETS.contains(&self.cpu_preset.as_str()), "cpu_preset must be an x264 preset name")?;
        check(self.vaapi_device.starts_with('/'), "vaapi_device must be an absolute path")?;
        check(
            self.shader_path.is_none() || matches!(self.backend, Backend::Auto | Backend::Cpu | Backend::Nvenc),
            "shader_path works with the cpu and nvenc backends only",
        )?;
        Ok(())
    }

    /// The folder finished files are written to.
    pub fn final_dir(&self) -> PathBuf {
        self.output_dir.clone().unwrap_or_else(|| self.cache_dir.join("final"))
    }
}

/// One viewer's (or the CLI's) request to upscale a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamRequest {
    /// Source file path (a JSON string, or its bytes when it is not UTF-8).
    #[serde(with = "crate::os_path")]
    pub input: PathBuf,
    /// Output codec.
    #[serde(default)]
    pub codec: Codec,
    /// Scale factor; the config's default when absent.
    #[serde(default)]
    pub scale: Option<u32>,
    /// Output height cap; the config's when absent.
    #[serde(default)]
    pub max_height: Option<u32>,
    /// Absolute stream index of the audio track to keep; the first audio track when absent.
    #[serde(default)]
    pub audio_stream: Option<u32>,
    /// Segment the viewer wants first (a start position).
    #[serde(default)]
    pub start_segment: Option<u32>,
    /// Position in seconds the viewer wants first (a resume point), preferred over
    /// `start_segment`: the segment that holds it is picked on the job's own timeline (its short
    /// first segment and keyframe cuts included), which the caller cannot know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_seconds: Option<f64>,
    /// What the caller already knows about the source, in `jellyscale probe`'s shape (Jellyfin
    /// has probed every library item): the job is planned from it at once instead of after an
    /// ffprobe, and ffprobe checks it in the background. A job planned from a description that
    /// the file contradicts fails, saying where they differ; the next request plans from ffprobe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaInfo>,
    /// The player decodes the source's video as it is (the plugin knows from the client's
    /// device profile): the fallback variant may then be a copy of it, nothing encoded, with
    /// every variant's segments cut at the source's keyframes. Costs one ffprobe pass reading
    /// the whole file before the first segment (once per file). Only for H.264 output from an
    /// 8-bit H.264 source whose keyframes make segments of at most three segment lengths.
    #[serde(default)]
    pub copy_fallback: bool,
}

impl StreamRequest {
    /// The segment a viewer starts at on `timeline`: the one holding `start_seconds`, else
    /// `start_segment`, else the first.
    pub fn first_segment(&self, timeline: &crate::timeline::Timeline) -> u32 {
        match self.start_seconds {
            Some(s) => timeline.segment_at(s),
            None => self.start_segment.unwrap_or(0),
        }
    }

    /// Whether the source's keyframes are worth reading for a copying fallback: asked for, H.264
    /// output, and no description that rules a copy out.
    pub fn wants_copy(&self) -> bool {
        self.copy_fallback && self.codec == Codec::H264 && self.media.as_ref().is_none_or(|m| m.video_codec == "h264")
    }

    /// Parses a request JSON and checks its ranges.
    pub fn from_json(text: &str) -> Result<StreamRequest> {
        let req: StreamRequest = serde_json::from_str(text).map_err(|e| Error::invalid(format!("request: {e}")))?;
        if req.input.as_os_str().is_empty() {
            return Err(Error::invalid("request: input is empty"));
        }
        if matches!(req.scale, Some(s) if !(1..=8).contains(&s)) {
            return Err(Error::invalid("request: scale must be 1..=8"));
        }
        if matches!(req.max_height, Some(h) if !(144..=8640).contains(&h)) {
            return Err(Error::invalid("request: max_height must be 144..=8640"));
        }
        if matches!(req.start_seconds, Some(s) if !(s >= 0.0 && s.is_finite())) {
            return Err(Error::invalid("request: start_seconds must be 0 or more"));
        }
        if let Some(why) = req.media.as_ref().and_then(MediaInfo::implausible) {
            return Err(Error::invalid(format!("request: media: {why}")));
        }
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_gives_defaults() {
        let c = Config::from_json("{}").unwrap();
        assert_eq!(c.segment_seconds, 4);
        assert_eq!(c.default_scale, 2);
        assert_eq!(c.max_height, 2160);
        assert_eq!(c.backend, Backend::Auto);
    }

    #[test]
    fn unknown_config_field_is_rejected_by_name() {
        let e = Config::from_json(r#"{"segment_second": 4}"#).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::InvalidArgument);
        assert!(e.message.contains("segment_second"), "{}", e.message);
    }

    #[test]
    fn out_of_range_values_are_rejected() {
        for bad in [
            r#"{"segment_seconds": 0}"#,
            r#"{"max_concurrent_jobs": 0}"#,
            r#"{"backend": "cuda"}"#,
            r#"{"cpu_preset": "-bad"}"#,
            r#"{"max_height": 10}"#,
            "not json",
        ] {
            assert!(Config::from_json(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_request_may_describe_its_source_but_not_implausibly() {
        let media = r#"{"duration":20.0,"width":320,"height":180,"fps":24.0,"video_codec":"h264","bit_depth":8,
            "video_index":0,"audio":[{"index":1,"codec":"aac","channels":2,"sample_rate":48000}]}"#;
        let req = StreamRequest::from_json(&format!(r#"{{"input":"/a.mkv","media":{media}}}"#)).unwrap();
        assert_eq!(req.media.unwrap().audio[0].sample_rate, 48000);
        for (bad, named) in [
            (media.replace("20.0", "0"), "duration"),
            (media.replace(r#""fps":24.0"#, r#""fps":0"#), "frame rate"),
            (media.replace(r#""width":320"#, r#""width":1"#), "size 1x180"),
            (media.replace(r#""bit_depth""#, r#""depth""#), "depth"),
            (media.replace(r#""channels""#, r#""chans""#), "chans"),
        ] {
            let e = StreamRequest::from_json(&format!(r#"{{"input":"/a.mkv","media":{bad}}}"#)).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::InvalidArgument);
            assert!(e.message.contains(named), "{named}: {}", e.message);
        }
    }

    #[test]
    fn start_seconds_picks_the_segment_holding_it_on_the_timeline() {
        let t =
            crate::timeline::Timeline { duration: 20.0, segment_seconds: 4, first_seconds: 1, fps: 24.0, cuts: None };
        let req = |json: &str| StreamRequest::from_json(json).unwrap();
        // Segment 0 is 1 s: 9.5 s is in segment 3 (9..13 s), not 9.5 / 4.
        assert_eq!(req(r#"{"input":"/a.mkv","start_seconds":9.5}"#).first_segment(&t), 3);
        assert_eq!(req(r#"{"input":"/a.mkv","start_seconds":9.5,"start_segment":1}"#).first_segment(&t), 3);
        assert_eq!(req(r#"{"input":"/a.mkv","start_segment":2}"#).first_segment(&t), 2);
        assert_eq!(req(r#"{"input":"/a.mkv"}"#).first_segment(&t), 0);
        assert!(StreamRequest::from_json(r#"{"input":"/a.mkv","start_seconds":-1}"#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_is_accepted_or_an_invalid_argument(text in ".{0,200}") {
            for e in [Config::from_json(&text).err(), StreamRequest::from_json(&text).err()].into_iter().flatten() {
                proptest::prop_assert_eq!(e.code, crate::ErrorCode::InvalidArgument);
            }
        }

        #[test]
        fn any_unknown_request_field_is_named_in_the_error(key in "[a-z_]{1,12}", value in 0u32..100) {
            let known = ["input", "codec", "scale", "max_height", "audio_stream", "start_segment", "start_seconds", "media"];
            proptest::prop_assume!(!known.contains(&key.as_str()));
            let text = format!(r#"{{"input":"/a.mkv","{key}":{value}}}"#);
            let e = StreamRequest::from_json(&text).unwrap_err();
            proptest::prop_assert!(e.message.contains(&key), "{}", e.message);
        }

        #[test]
        fn numbers_out_of_range_never_pass(scale in proptest::num::u32::ANY, height in proptest::num::u32::ANY) {
            let text = format!(r#"{{"input":"/a.mkv","scale":{scale},"max_height":{height}}}"#);
            if let Ok(r) = StreamRequest::from_json(&text) {
                proptest::prop_assert!((1..=8).contains(&r.scale.unwrap()));
                proptest::prop_assert!((144..=8640).contains(&r.max_height.unwrap()));
            }
        }
    }

    #[test]
    fn request_needs_input_and_rejects_unknown_fields() {
        assert!(StreamRequest::from_json(r#"{"codec":"h264"}"#).is_err());
        assert!(StreamRequest::from_json(r#"{"input":"/a","colour":1}"#).is_err());
        assert!(StreamRequest::from_json(r#"{"input":"/a","codec":"vp9"}"#).is_err());
        let r = StreamRequest::from_json(r#"{"input":"/a b.mkv","codec":"hevc","scale":2}"#).unwrap();
        assert_eq!(r.codec, Codec::Hevc);
        assert_eq!(r.scale, Some(2));
    }
}
