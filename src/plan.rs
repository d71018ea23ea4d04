//! Pure planning: from a probed source, a request and the config to the exact ffmpeg argv of
//! one encoder run. No I/O here, so every backend's command line is snapshot-tested.

use crate::config::{Backend, Codec};
use crate::error::{Error, Result};
use crate::keyframes::Keyframes;
use crate::probe::{input_url, AudioStream, MediaInfo};
use crate::timeline::{Container, Timeline};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

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

/// The output size for a source: `scale` times larger, capped at `max_height`, aspect kept, even
/// dimensions. Refuses a source that would not get any larger.
pub fn target_size(width: u32, height: u32, scale: u32, max_height: u32) -> Result<(u32, u32)> {
    let want = (height as u64 * scale as u64).min(max_height as u64) as u32 & !1;
    if want <= height {
        return Err(Error::bad_input(format!(
            "nothing to upscale: source is {width}x{height}, target height would be {want}"
        )));
    }
    let w = ((width as f64 * want as f64 / height as f64 / 2.0).round() as u32 * 2).max(2);
    Ok((w, want))
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
    /// The segment timeline the runs must follow.
    pub timeline: Timeline,
    /// Audio track to carry, if any.
    pub audio: Option<AudioStream>,
    /// Folder the segments go to.
    pub out_dir: PathBuf,
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

/// How far (seconds) an option is nudged off a keyframe cut to keep or skip the frame on it:
/// half a millisecond, less than any frame lasts.
const CUT_NUDGE: f64 = 0.0005;

/// The HEVC level (general_level_idc, 30 x level) an encoder picks for a picture size and frame
/// rate: the lowest whose luma picture size, luma sample rate and dimension limits (H.265
/// Table A.8) hold it. x265 picks it this way and cannot be told a level without turning on VBV
/// (and refusing sizes over it), so the master playlist announces what it will pick.
pub fn hevc_level(width: u32, height: u32, fps: f64) -> u32 {
    const LEVELS: &[(u32, f64, f64)] = &[
        (30, 36_864.0, 552_960.0),
        (60, 122_880.0, 3_686_400.0),
        (63, 245_760.0, 7_372_800.0),
        (90, 552_960.0, 16_588_800.0),
        (93, 983_040.0, 33_177_600.0),
        (120, 2_228_224.0, 66_846_720.0),
        (123, 2_228_224.0, 133_693_440.0),
        (150, 8_912_896.0, 267_386_880.0),
        (153, 8_912_896.0, 534_773_760.0),
        (156, 8_912_896.0, 1_069_547_520.0),
        (180, 35_651_584.0, 1_069_547_520.0),
        (183, 35_651_584.0, 2_139_095_040.0),
        (186, 35_651_584.0, 4_278_190_080.0),
    ];
    let samples = width as f64 * height as f64;
    LEVELS
        .iter()
        .find(|&&(_, max_ps, max_sr)| {
            let max_side = (max_ps * 8.0).sqrt();
            samples <= max_ps && samples * fps <= max_sr && (width as f64) <= max_side && (height as f64) <= max_side
        })
        .map_or(186, |l| l.0)
}

/// H.264 level for an output height, as the `-level` value and the RFC 6381 level byte: the
/// encoder is told the level the master playlist announces, so CODECS matches the stream.
fn h264_level(height: u32) -> (&'static str, &'static str) {
    match height {
        0..=1088 => ("4.0", "28"),
        1089..=1440 => ("5.0", "32"),
        _ => ("5.1", "33"),
    }
}

/// Escapes a value for a filter option inside a filter graph (two levels of ffmpeg escaping),
/// so a path with `:`, `,`, quotes or brackets stays one value.
pub fn escape_filter_value(value: &str) -> String {
    let option_level: String =
        value.chars().flat_map(|c| if matches!(c, '\\' | '\'' | ':') { vec!['\\', c] } else { vec![c] }).collect();
    option_level
        .chars()
        .flat_map(|c| if matches!(c, '\\' | '\'' | ',' | ';' | '[' | ']') { vec!['\\', c] } else { vec![c] })
        .collect()
}

fn push(args: &mut Vec<OsString>, items: &[&str]) {
    args.extend(items.iter().map(OsString::from));
}

impl EncodePlan {
    /// Segment container of this plan.
    pub fn container(&self) -> Container {
        Container::for_codec(self.profile.codec)
    }

    /// The source's video this plan copies, if it is a copy.
    fn copied(&self) -> Option<&SourceCopy> {
        self.source_copy.as_ref().filter(|_| self.stream_copy)
    }

    fn ten_bit(&self) -> bool {
        self.profile.bit_depth >= 10
    }

    /// The backend's presets, fastest first, and the index of the configured one: the steps
    /// a plan can go faster.
    fn preset_ladder(&self) -> (&'static [&'static str], u32) {
        match self.backend {
            Backend::Cpu | Backend::Auto => {
                let at = crate::config::PRESETS.iter().position(|p| *p == self.cpu_preset).unwrap_or(0);
                (crate::config::PRESETS, at as u32)
            }
            Backend::Nvenc => (&["p1", "p3", "p5"], 2),
            Backend::Qsv => (&["veryfast", "fast", "medium"], 2),
            // VAAPI has no speed preset: its only lever is the cheaper variants.
            Backend::Vaapi => (&[""], 0),
        }
    }

    /// The encoder preset this plan runs with (empty for VAAPI, which has none; `copy` for a
    /// copy).
    pub fn preset(&self) -> &'static str {
        if self.stream_copy {
            return "copy";
        }
        let (ladder, configured) = self.preset_ladder();
        ladder[(configured - self.speed_step.min(configured)) as usize]
    }

    /// The same plan one preset faster, if the backend has a faster one.
    pub fn faster(&self) -> Option<EncodePlan> {
        (self.speed_step < self.preset_ladder().1)
            .then(|| EncodePlan { speed_step: self.speed_step + 1, ..self.clone() })
    }

    /// A cheaper rung of this plan's ladder: the fastest preset, and capped so that its
    /// BANDWIDTH bounds its segments.
    fn into_rung(mut self) -> EncodePlan {
        self.speed_step = self.preset_ladder().1;
        self.bitrate_cap = Some(self.typical_video_bitrate());
        self
    }

    /// The middle rung of the ladder: the same upscale to two thirds of the target height
    /// (1440p for 2160p) with the fastest preset, when that is still larger than the source.
    pub fn lower_target(&self) -> Option<EncodePlan> {
        let height = (self.profile.height * 2 / 3) & !1;
        let (width, height) = target_size(self.media.width, self.media.height, 8, height).ok()?;
        Some(EncodePlan { profile: Profile { width, height, ..self.profile }, ..self.clone() }.into_rung())
    }

    /// The cheap variant viewers fall back to when the upscale cannot keep up: the same
    /// timeline and segment boundaries at the source's size. A copy of the source's video when
    /// it has one (nothing is encoded); otherwise the fastest preset and no shader, always on the
    /// CPU: it must work whatever the GPU does, and must not take one of the GPU's few encoder
    /// sessions (NVENC allows 8 at once).
    pub fn fallback(&self) -> EncodePlan {
        let profile =
            Profile { width: (self.media.width & !1).max(2), height: (self.media.height & !1).max(2), ..self.profile };
        let plan = EncodePlan { profile, shader: None, backend: Backend::Cpu, ..self.clone() };
        if self.source_copy.is_some() {
            let profile = Profile { width: self.media.width, height: self.media.height, bit_depth: 8, ..profile };
            return EncodePlan { profile, stream_copy: true, ..plan };
        }
        plan.into_rung()
    }

    /// The ffmpeg arguments (without the program) for a run that starts at segment `first` and
    /// stops before segment `end` (or at the end of the source).
    pub fn encode_args(&self, first: u32, end: Option<u32>) -> Vec<OsString> {
        let t = &self.timeline;
        let mut a: Vec<OsString> = Vec::new();
        push(&mut a, &["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]);
        if !self.stream_copy {
            a.extend(self.hw_input_args());
        }
        if first > 0 {
            // Input seek to an exact segment boundary: with -copyts the new run's timestamps
            // continue the timeline, so its segments line up with those of earlier runs. A copy
            // starts at the keyframe at or before the seek point: the one on the cut.
            let nudge = if self.stream_copy { CUT_NUDGE } else { -CUT_NUDGE };
            push(&mut a, &["-ss", &t.start_arg(first, nudge)]);
        }
        push(&mut a, &["-copyts", "-start_at_zero", "-i"]);
        a.push(input_url(&self.input));
        push(&mut a, &["-map", &format!("0:{}", self.media.video_index)]);
        if let Some(audio) = &self.audio {
            push(&mut a, &["-map", &format!("0:{}", audio.index)]);
        }
        push(&mut a, &["-map_metadata", "-1", "-map_chapters", "-1"]);
        let end_k = end.unwrap_or(t.count());
        if self.stream_copy {
            push(&mut a, &["-c:v", "copy"]);
        } else {
            a.extend(self.video_args());
            let forced = self.forced_keyframes(first, end_k);
            // ffmpeg refuses an empty list (a one-segment run: its first frame is a keyframe).
            if !forced.is_empty() {
                push(&mut a, &["-force_key_frames", &forced]);
            }
        }
        a.extend(self.audio_args(first));
        push(&mut a, &["-avoid_negative_ts", "disabled"]);
        if let Some(end) = end {
            push(&mut a, &["-to", &t.start_arg(end, -CUT_NUDGE)]);
        }
        push(&mut a, &["-progress", "pipe:1", "-nostats"]);
        if self.stream_copy {
            a.extend(self.copy_muxer_args(first, end_k));
            return a;
        }
        // Keyframes exist only at segment boundaries (the GOP is longer than a segment), so a
        // short hls_time cuts at each of them, the short first one included (segments cut at
        // keyframes are at least a second long).
        let hls_time = match (first, &t.cuts) {
            (_, Some(_)) => 1,
            (0, None) => t.first_seconds.clamp(1, t.segment_seconds),
            (_, None) => t.segment_seconds,
        };
        push(&mut a, &["-f", "hls", "-hls_time", &hls_time.to_string()]);
        push(&mut a, &["-hls_playlist_type", "event", "-hls_flags", "temp_file+independent_segments"]);
        push(&mut a, &["-start_number", &first.to_string()]);
        match self.container() {
            Container::Ts => push(
                &mut a,
                &[
                    "-hls_segment_type",
                    "mpegts",
                    "-hls_segment_options",
                    "mpegts_flags=+initial_discontinuity:avoid_negative_ts=disabled",
                ],
            ),
            // frag_discont keeps absolute decode times in each fragment, so fragments of
            // different runs concatenate into one continuous file.
            Container::Mp4 => push(
                &mut a,
                &[
                    "-hls_segment_type",
                    "fmp4",
                    "-hls_fmp4_init_filename",
                    &format!("init_{first}.mp4"),
                    "-hls_segment_options",
                    "movflags=+frag_discont",
                ],
            ),
        }
        a.push("-hls_segment_filename".into());
        a.push(self.out_dir.join(format!("seg_%05d.{}", self.container().segment_ext())).into());
        a.push(self.out_dir.join(format!("run_{first}.m3u8")).into());
        a
    }

    /// `-force_key_frames` for a run over segments `first..end`: the cuts themselves, or every
    /// fixed boundary. `t` in the expression counts from the run's first frame: a run from 0
    /// with a short first segment puts its second keyframe at the first segment's end: 0, F,
    /// F+S, F+2S, ...
    fn forced_keyframes(&self, first: u32, end: u32) -> String {
        let t = &self.timeline;
        if t.cuts.is_some() {
            return self.cuts_within(first, end).join(",");
        }
        let s = t.segment_seconds;
        let shift = if first == 0 { s - t.first_seconds.clamp(1, s) } else { 0 };
        if shift > 0 {
            format!("expr:gte(t,n_forced*{s}-{shift})")
        } else {
            format!("expr:gte(t,n_forced*{s})")
        }
    }

    /// The cuts inside a run over segments `first..end` (where its segments after the first
    /// begin), as ffmpeg is told them.
    fn cuts_within(&self, first: u32, end: u32) -> Vec<String> {
        (first + 1..end).map(|k| self.timeline.start_arg(k, 0.0)).collect()
    }

    /// The muxer of a copy: the segment muxer cuts at the first keyframe on or after each cut
    /// (the hls muxer would cut at every keyframe past its interval). It writes each segment
    /// under a `.tmp` name in place; the job renames one once the next is begun.
    fn copy_muxer_args(&self, first: u32, end: u32) -> Vec<OsString> {
        let mut times = self.cuts_within(first, end);
        if times.is_empty() {
            // Without a list the muxer would cut every 2 s.
            times.push(format!("{:.6}", self.timeline.duration + 1.0));
        }
        let mut a = Vec::new();
        push(&mut a, &["-f", "segment", "-segment_format", "mpegts"]);
        push(&mut a, &["-segment_format_options", "mpegts_flags=+initial_discontinuity:avoid_negative_ts=disabled"]);
        push(&mut a, &["-segment_times", &times.join(","), "-segment_time_delta", &CUT_NUDGE.to_string()]);
        push(&mut a, &["-segment_start_number", &first.to_string()]);
        a.push(self.out_dir.join("seg_%05d.ts.tmp").into());
        a
    }

    fn hw_input_args(&self) -> Vec<OsString> {
        let mut a = Vec::new();
        if self.shader.is_some() {
            // The shader runs through libplacebo on a Vulkan device; decoding stays on the CPU.
            push(&mut a, &["-init_hw_device", "vulkan=vk", "-filter_hw_device", "vk"]);
            return a;
        }
        match self.backend {
            Backend::Nvenc => push(&mut a, &["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"]),
            Backend::Vaapi => push(
                &mut a,
                &[
                    "-init_hw_device",
                    &format!("vaapi=va:{}", self.vaapi_device),
                    "-hwaccel",
                    "vaapi",
                    "-hwaccel_device",
                    "va",
                    "-hwaccel_output_format",
                    "vaapi",
                ],
            ),
            Backend::Qsv => {
                push(&mut a, &["-init_hw_device", "qsv=qs", "-hwaccel", "qsv", "-hwaccel_output_format", "qsv"])
            }
            Backend::Cpu | Backend::Auto => {}
        }
        a
    }

    /// The scaling filter chain: lanczos on the backend's own frames, or the user's shader.
    fn video_filter(&self) -> String {
        let Profile { codec, width: w, height: h, .. } = self.profile;
        let ten = self.ten_bit();
        let sw_format = if ten && codec == Codec::Hevc { "yuv420p10le" } else { "yuv420p" };
        if let Some(shader) = &self.shader {
            return format!(
                "format=yuv420p,hwupload,libplacebo=w={w}:h={h}:upscaler=ewa_lanczos:custom_shader_path={},hwdownload,format={sw_format}",
                escape_filter_value(&shader.to_string_lossy())
            );
        }
        let hw_format = if ten && codec == Codec::Hevc { "p010" } else { "nv12" };
        match self.backend {
            Backend::Cpu | Backend::Auto => format!("scale={w}:{h}:flags=lanczos,format={sw_format}"),
            Backend::Nvenc => {
                let fmt = if ten && codec == Codec::Hevc { "p010le" } else { "yuv420p" };
                format!("scale_cuda={w}:{h}:interp_algo=lanczos:format={fmt}")
            }
            Backend::Vaapi => format!("scale_vaapi=w={w}:h={h}:mode=hq:format={hw_format}"),
            Backend::Qsv => format!("vpp_qsv=w={w}:h={h}:format={hw_format}"),
        }
    }

    fn video_args(&self) -> Vec<OsString> {
        let codec = self.profile.codec;
        let ten = self.ten_bit();
        // Twice the longest segment: encoders never add a keyframe of their own between two
        // forced ones.
        let longest = match self.timeline.cuts {
            Some(_) => self.timeline.target_duration(),
            None => self.timeline.segment_seconds,
        };
        let gop = ((2.0 * longest as f64 * self.media.fps).round() as u32).max(2).to_string();
        let h264 = codec == Codec::H264;
        let mut a = Vec::new();
        push(&mut a, &["-vf", &self.video_filter()]);
        match self.backend {
            Backend::Cpu | Backend::Auto if h264 => {
                let level = h264_level(self.profile.height).0;
                push(&mut a, &["-c:v", "libx264", "-preset", self.preset(), "-crf", "20", "-profile:v", "high"]);
                push(&mut a, &["-level:v", level]);
            }
            Backend::Cpu | Backend::Auto => {
                push(&mut a, &["-c:v", "libx265", "-preset", self.preset(), "-crf", "22", "-forced-idr", "1"])
            }
            Backend::Nvenc => {
                if ten && !h264 {
                    push(&mut a, &["-profile:v", "main10"]);
                }
                // NVENC ignores -crf: constant quality is -rc vbr -cq with no bitrate cap.
                push(
                    &mut a,
                    &["-c:v", if h264 { "h264_nvenc" } else { "hevc_nvenc" }, "-preset", self.preset(), "-tune", "hq"],
                );
                push(&mut a, &["-rc", "vbr", "-cq", "23", "-b:v", "0", "-forced-idr", "1", "-no-scenecut", "1"]);
            }
            Backend::Vaapi => {
                push(&mut a, &["-c:v", if h264 { "h264_vaapi" } else { "hevc_vaapi" }, "-rc_mode", "CQP", "-qp", "22"])
            }
            Backend::Qsv => push(
                &mut a,
                &[
                    "-c:v",
                    if h264 { "h264_qsv" } else { "hevc_qsv" },
                    "-preset",
                    self.preset(),
                    "-global_quality",
                    "23",
                ],
            ),
        }
        if self.backend == Backend::Qsv {
            push(&mut a, &["-look_ahead", "0", "-forced_idr", "1"]);
        }
        // VAAPI's CQP and QSV's ICQ modes take no cap; their rungs' BANDWIDTH stays an estimate.
        if let (Some(cap), Backend::Cpu | Backend::Auto | Backend::Nvenc) = (self.bitrate_cap, self.backend) {
            push(&mut a, &["-maxrate", &cap.to_string(), "-bufsize", &cap.to_string()]);
        }
        push(&mut a, &["-g", &gop]);
        match (self.backend, codec) {
            (Backend::Cpu | Backend::Auto, Codec::H264) => push(&mut a, &["-sc_threshold", "0"]),
            (Backend::Cpu | Backend::Auto, Codec::Hevc) => {
                push(&mut a, &["-x265-params", "log-level=error:scenecut=0:open-gop=0", "-tag:v", "hvc1"])
            }
            (_, Codec::Hevc) => push(&mut a, &["-tag:v", "hvc1"]),
            (_, Codec::H264) => {}
        }
        a
    }

    /// Copying audio is only safe in a run from the very start into MPEG-TS: after `-ss`, copied
    /// audio carries packets from before the seek point, and an fMP4 init section must describe
    /// every run's audio alike. Everything else is AAC with the source's layout.
    fn audio_args(&self, first: u32) -> Vec<OsString> {
        let mut a = Vec::new();
        let Some(audio) = &self.audio else { return a };
        if first == 0 && self.container() == Container::Ts && audio.codec == "aac" {
            push(&mut a, &["-c:a", "copy"]);
        } else {
            let bitrate = (64 * audio.channels).min(384);
            push(
                &mut a,
                &[
                    "-c:a",
                    "aac",
                    "-b:a",
                    &format!("{bitrate}k"),
                    "-ac",
                    &audio.channels.to_string(),
                    "-ar",
                    &audio.sample_rate.to_string(),
                ],
            );
        }
        a
    }

    /// RFC 6381 codec string for `EXT-X-STREAM-INF:CODECS`.
    pub fn codecs(&self) -> String {
        let Profile { codec, height, .. } = self.profile;
        let video = match (codec, self.copied()) {
            (_, Some(copy)) => copy.codecs.clone(),
            // x264's ultrafast gives up CABAC and 8x8 transforms: the stream is then
            // Constrained Baseline (profile 66, constraint flags 0 and 1), whatever -profile says.
            (Codec::H264, _)
                if matches!(self.backend, Backend::Cpu | Backend::Auto) && self.preset() == "ultrafast" =>
            {
                format!("avc1.42c0{}", h264_level(height).1)
            }
            (Codec::H264, _) => format!("avc1.6400{}", h264_level(height).1),
            (Codec::Hevc, _) => {
                let profile = if self.ten_bit() { "2.4" } else { "1.6" };
                let level = hevc_level(self.profile.width, height, self.media.fps);
                format!("hvc1.{profile}.L{level}.90")
            }
        };
        match self.audio {
            Some(_) => format!("{video},mp4a.40.2"),
            None => video,
        }
    }

    /// What this output typically takes at the configured quality: 0.12 bits a pixel.
    fn typical_video_bitrate(&self) -> u64 {
        let pixels = self.profile.width as f64 * self.profile.height as f64 * self.media.fps.min(60.0);
        ((pixels * 0.12) as u64).max(64_000)
    }

    /// The peak bitrate for `BANDWIDTH`, in bits per second. A capped rung's segments stay
    /// under twice its cap even for the one-second first segment (the buffer holds one second
    /// more); the uncapped upscale gets the typical rate, scaled for presets that compress
    /// less. Audio: what a copy of the source's AAC or our re-encode may take.
    pub fn bandwidth(&self) -> u64 {
        let video = match (self.bitrate_cap, self.copied()) {
            (_, Some(copy)) => copy.peak_bitrate,
            (Some(cap), _) => 2 * cap,
            (None, _) => {
                let factor = match self.preset() {
                    "ultrafast" => 2.5,
                    "superfast" => 1.6,
                    _ => 1.0,
                };
                (self.typical_video_bitrate() as f64 * factor) as u64
            }
        };
        let audio = self.audio.as_ref().map_or(0, |a| {
            if a.codec == "aac" {
                384_000
            } else {
                (64_000 * a.channels as u64).min(384_000)
            }
        });
        video + audio
    }
}

/// ffmpeg arguments for a one-frame test encode on a backend: the truthful capability probe.
pub fn capability_test_args(backend: Backend, vaapi_device: &str) -> Vec<OsString> {
    let mut a = Vec::new();
    push(&mut a, &["-hide_banner", "-nostdin", "-loglevel", "error"]);
    let (init, filter, enc): (Vec<String>, &str, &str) = match backend {
        Backend::Nvenc => (
            vec!["-init_hw_device".into(), "cuda=gpu".into(), "-filter_hw_device".into(), "gpu".into()],
            "format=nv12,hwupload_cuda,scale_cuda=256:144",
            "h264_nvenc",
        ),
        Backend::Vaapi => (
            vec!["-init_hw_device".into(), format!("vaapi=va:{vaapi_device}"), "-filter_hw_device".into(), "va".into()],
            "format=nv12,hwupload,scale_vaapi=w=256:h=144",
            "h264_vaapi",
        ),
        Backend::Qsv => (
            vec!["-init_hw_device".into(), "qsv=qs".into(), "-filter_hw_device".into(), "qs".into()],
            "format=nv12,hwupload=extra_hw_frames=16,vpp_qsv=w=256:h=144",
            "h264_qsv",
        ),
        Backend::Cpu | Backend::Auto => (vec![], "scale=256:144:flags=lanczos", "libx264"),
    };
    a.extend(init.into_iter().map(OsString::from));
    push(
        &mut a,
        &[
            "-f",
            "lavfi",
            "-i",
            "color=black:size=128x72:rate=1",
            "-frames:v",
            "1",
            "-vf",
            filter,
            "-c:v",
            enc,
            "-f",
            "null",
            "-",
        ],
    );
    a
}

/// ffmpeg arguments for a one-frame libplacebo run on a Vulkan device: can shaders run here?
pub fn shader_test_args() -> Vec<OsString> {
    let mut a = Vec::new();
    push(&mut a, &["-hide_banner", "-nostdin", "-loglevel", "error", "-init_hw_device", "vulkan=vk"]);
    push(&mut a, &["-filter_hw_device", "vk", "-f", "lavfi", "-i", "color=black:size=64x36:rate=1", "-frames:v", "1"]);
    push(
        &mut a,
        &["-vf", "format=yuv420p,hwupload,libplacebo=w=128:h=72,hwdownload,format=yuv420p", "-f", "null", "-"],
    );
    a
}

/// Turns ffmpeg's error output from a failed test encode into the reason a person needs.
pub fn explain_backend_failure(stderr: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("Cannot load libcuda", "no CUDA driver or NVIDIA GPU (libcuda.so.1 not loadable)"),
        ("no CUDA-capable device", "no CUDA device"),
        ("CUDA_ERROR_NO_DEVICE", "no CUDA device"),
        ("Driver does not support the required nvenc API version", "NVIDIA driver too old for this ffmpeg's NVENC"),
        ("incompatible client key", "NVENC encoder session limit reached"),
        ("OpenEncodeSessionEx failed: out of memory", "NVENC encoder session limit reached or GPU out of memory"),
        ("No VA display found", "no VAAPI device (render node missing or not a GPU)"),
        ("vaInitialize failed", "VAAPI driver failed to initialise"),
        ("Generic error in an external library", "no working Intel Quick Sync device or driver"),
        ("Unknown encoder", "this ffmpeg lacks the encoder"),
        ("No such filter", "this ffmpeg lacks the filter"),
    ];
    KNOWN
        .iter()
        .find(|(needle, _)| stderr.contains(needle))
        .map(|(_, why)| why.to_string())
        .unwrap_or_else(|| stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("failed").trim().to_owned())
}

/// Renders an argv as one shell-quoted line, for `jellyscale plan` and logs.
pub fn display_args(program: &Path, args: &[OsString]) -> String {
    std::iter::once(program.as_os_str())
        .chain(args.iter().map(|a| a.as_os_str()))
        .map(|a| {
            let s = a.to_string_lossy();
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=+,%".contains(c)) {
                s.into_owned()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(bit_depth: u32) -> MediaInfo {
        MediaInfo {
            duration: 20.0,
            width: 320,
            height: 180,
            fps: 24.0,
            video_codec: "h264".into(),
            bit_depth,
            video_index: 0,
            audio: vec![AudioStream { index: 1, codec: "aac".into(), channels: 2, sample_rate: 48000 }],
        }
    }

    fn plan(backend: Backend, codec: Codec, bit_depth: u32) -> EncodePlan {
        let media = media(bit_depth);
        let (width, height) = target_size(media.width, media.height, 2, 2160).unwrap();
        let out_bits = if codec == Codec::Hevc { bit_depth } else { 8 };
        EncodePlan {
            input: "/media/-odd: name 'q'.mkv".into(),
            audio: media.audio.first().cloned(),
            media,
            profile: Profile { codec, width, height, bit_depth: out_bits },
            backend,
            timeline: Timeline { duration: 20.0, segment_seconds: 4, first_seconds: 4, fps: 24.0, cuts: None },
            out_dir: "/cache/job".into(),
            cpu_preset: "veryfast".into(),
            vaapi_device: "/dev/dri/renderD128".into(),
            shader: None,
            speed_step: 0,
            bitrate_cap: None,
            source_copy: None,
            stream_copy: false,
        }
    }

    #[test]
    fn faster_steps_walk_the_preset_ladder_and_stop() {
        let p = plan(Backend::Cpu, Codec::H264, 8);
        assert_eq!(p.preset(), "veryfast");
        let names: Vec<String> =
            std::iter::successors(Some(p), |p| p.faster()).map(|p| p.preset().to_owned()).collect();
        assert_eq!(names, ["veryfast", "superfast", "ultrafast"]);
        let nvenc: Vec<String> = std::iter::successors(Some(plan(Backend::Nvenc, Codec::Hevc, 8)), |p| p.faster())
            .map(|p| p.preset().to_owned())
            .collect();
        assert_eq!(nvenc, ["p5", "p3", "p1"]);
        assert!(plan(Backend::Vaapi, Codec::H264, 8).faster().is_none());
    }

    #[test]
    fn fallback_keeps_the_timeline_at_the_source_size() {
        let mut p = plan(Backend::Cpu, Codec::H264, 8);
        p.shader = Some("/s.glsl".into());
        let f = p.fallback();
        assert_eq!((f.profile.width, f.profile.height), (320, 180));
        assert_eq!(f.timeline, p.timeline);
        assert_eq!(f.preset(), "ultrafast");
        assert!(f.shader.is_none());
        let line = display_args(Path::new("ffmpeg"), &f.encode_args(0, None));
        assert!(line.contains("scale=320:180:flags=lanczos"), "{line}");
        assert!(line.contains("-maxrate 165888 -bufsize 165888"), "capped at 0.12 bit a pixel: {line}");
        assert_eq!(f.bandwidth(), 2 * 165_888 + 384_000, "twice the cap, and copied AAC's allowance");
        let gpu =
            display_args(Path::new("ffmpeg"), &plan(Backend::Nvenc, Codec::H264, 8).fallback().encode_args(0, None));
        assert!(gpu.contains("-c:v libx264 -preset ultrafast") && !gpu.contains("cuda"), "{gpu}");
        assert!(f.bandwidth() < p.bandwidth());
        assert_eq!(f.codecs(), "avc1.42c028,mp4a.40.2", "ultrafast is Constrained Baseline");
    }

    /// A plan whose timeline is cut at keyframes 0, 1.5, 5, 8.5, 12.5 and 16.25, with a source
    /// to copy.
    fn cut_plan(backend: Backend) -> EncodePlan {
        let mut p = plan(backend, Codec::H264, 8);
        p.timeline = Timeline { first_seconds: 1, segment_seconds: 2, ..p.timeline }
            .cut_at(&[0.0, 1.5, 5.0, 8.5, 12.5, 16.25])
            .unwrap();
        p.source_copy = Some(SourceCopy { codecs: "avc1.64000d".into(), peak_bitrate: 300_000 });
        p
    }

    #[test]
    fn a_timeline_cut_at_keyframes_forces_them_and_its_fallback_copies_the_source() {
        let p = cut_plan(Backend::Nvenc);
        let line = display_args(Path::new("ffmpeg"), &p.encode_args(2, Some(4)));
        // Keep the frame on the cut, stop before the next run's first frame.
        assert!(line.contains("-ss 4.999500 -copyts"), "{line}");
        assert!(line.contains("-force_key_frames 8.500000 "), "{line}");
        assert!(line.contains("-to 12.499500 "), "{line}");
        assert!(
            line.contains("-g 192 ") && line.contains("-hls_time 1 "),
            "GOP over twice the longest segment: {line}"
        );
        let whole = display_args(Path::new("ffmpeg"), &p.encode_args(0, None));
        assert!(whole.contains("-force_key_frames 1.500000,5.000000,8.500000,12.500000,16.250000 "), "{whole}");
        let one = display_args(Path::new("ffmpeg"), &p.encode_args(3, Some(4)));
        assert!(!one.contains("-force_key_frames"), "a one-segment run has no keyframe to force: {one}");

        let f = p.fallback();
        assert!(f.stream_copy && f.timeline == p.timeline && f.shader.is_none());
        assert_eq!((f.profile.width, f.profile.height, f.backend), (320, 180, Backend::Cpu));
        assert_eq!((f.codecs(), f.bandwidth()), ("avc1.64000d,mp4a.40.2".into(), 300_000 + 384_000));
        let copy = display_args(Path::new("/usr/bin/ffmpeg"), &f.encode_args(2, Some(4)));
        insta::assert_snapshot!(copy, @"/usr/bin/ffmpeg -hide_banner -nostdin -loglevel error -y -ss 5.000500 -copyts -start_at_zero -i 'file:/media/-odd: name '\\''q'\\''.mkv' -map 0:0 -map 0:1 -map_metadata -1 -map_chapters -1 -c:v copy -c:a aac -b:a 128k -ac 2 -ar 48000 -avoid_negative_ts disabled -to 12.499500 -progress pipe:1 -nostats -f segment -segment_format mpegts -segment_format_options mpegts_flags=+initial_discontinuity:avoid_negative_ts=disabled -segment_times 8.500000 -segment_time_delta 0.0005 -segment_start_number 2 /cache/job/seg_%05d.ts.tmp");
        let last = display_args(Path::new("ffmpeg"), &f.encode_args(5, None));
        assert!(last.contains("-segment_times 21.000000 "), "no cut left: one past the end, {last}");
    }

    #[test]
    fn lower_target_is_two_thirds_of_the_target_and_only_when_still_an_upscale() {
        let mut p = plan(Backend::Cpu, Codec::H264, 8);
        let lower = p.lower_target().unwrap();
        assert_eq!((lower.profile.width, lower.profile.height), (426, 240));
        assert_eq!((lower.preset(), &lower.timeline), ("ultrafast", &p.timeline));
        p.media.height = 1080;
        p.media.width = 1920;
        p.profile = Profile { width: 3840, height: 2160, ..p.profile };
        assert_eq!(p.lower_target().map(|l| (l.profile.width, l.profile.height)), Some((2560, 1440)));
        p.profile = Profile { width: 2400, height: 1350, ..p.profile };
        assert!(p.lower_target().is_none(), "900p would not be an upscale of 1080p");
    }

    #[test]
    fn hevc_level_is_the_lowest_that_holds_size_and_rate() {
        assert_eq!(hevc_level(640, 360, 24.0), 63);
        assert_eq!(hevc_level(1280, 720, 24.0), 93);
        assert_eq!(hevc_level(1920, 1080, 24.0), 120);
        assert_eq!(hevc_level(1920, 1080, 60.0), 123);
        assert_eq!(hevc_level(3840, 2160, 24.0), 150);
        assert_eq!(hevc_level(3840, 2160, 60.0), 153);
        assert_eq!(hevc_level(8, 4000, 1.0), 120, "a very tall picture needs a larger level");
    }

    #[test]
    fn h264_level_in_the_argv_is_the_one_codecs_announces() {
        for (height, level, codecs) in
            [(360, "4.0", "avc1.640028"), (1440, "5.0", "avc1.640032"), (2160, "5.1", "avc1.640033")]
        {
            let mut p = plan(Backend::Cpu, Codec::H264, 8);
            p.profile.height = height;
            let line = display_args(Path::new("ffmpeg"), &p.encode_args(0, None));
            assert!(line.contains(&format!("-level:v {level} ")), "{line}");
            assert!(p.codecs().starts_with(codecs));
        }
    }

    #[test]
    fn target_size_doubles_and_keeps_even_aspect() {
        assert_eq!(target_size(320, 180, 2, 2160).unwrap(), (640, 360));
        assert_eq!(target_size(1920, 1080, 2, 2160).unwrap(), (3840, 2160));
        assert_eq!(target_size(853, 481, 2, 2160).unwrap(), (1706, 962));
        assert_eq!(target_size(720, 576, 4, 1080).unwrap(), (1350, 1080));
    }

    #[test]
    fn source_at_target_is_nothing_to_upscale() {
        let e = target_size(3840, 2160, 2, 2160).unwrap_err();
        assert!(e.message.contains("nothing to upscale"));
        assert!(target_size(640, 360, 1, 2160).is_err());
    }

    #[test]
    fn unknown_audio_stream_is_invalid() {
        assert!(choose_audio(&media(8), Some(7)).is_err());
        assert_eq!(choose_audio(&media(8), None).unwrap().unwrap().index, 1);
    }

    #[test]
    fn input_is_passed_as_one_file_url_argument() {
        let args = plan(Backend::Cpu, Codec::H264, 8).encode_args(0, None);
        let i = args.iter().position(|a| a == "-i").unwrap();
        assert_eq!(args[i + 1], "file:/media/-odd: name 'q'.mkv");
    }

    #[test]
    fn backend_failures_are_explained() {
        let cuda = "[AVHWDeviceContext @ 0x1] Cannot load libcuda.so.1\nDevice creation failed: -1.";
        assert!(explain_backend_failure(cuda).contains("no CUDA driver"));
        assert!(explain_backend_failure("x\nNo VA display found for device /dev/dri/renderD128.")
            .contains("no VAAPI device"));
        assert!(explain_backend_failure("OpenEncodeSessionEx failed: incompatible client key (21)")
            .contains("session limit"));
        assert_eq!(explain_backend_failure("\nsomething new\n"), "something new");
    }

    #[test]
    fn shader_paths_are_escaped_into_one_filter_value() {
        assert_eq!(escape_filter_value("/s/a:b,c'd.glsl"), r"/s/a\\:b\,c\\\'d.glsl");
        let mut p = plan(Backend::Cpu, Codec::H264, 8);
        p.shader = Some("/shaders/FSRCNNX x2.glsl".into());
        let line = display_args(Path::new("ffmpeg"), &p.encode_args(0, None));
        assert!(line.contains("-init_hw_device vulkan=vk -filter_hw_device vk"), "{line}");
        assert!(
            line.contains(
                "libplacebo=w=640:h=360:upscaler=ewa_lanczos:custom_shader_path=/shaders/FSRCNNX x2.glsl,hwdownload"
            ),
            "{line}"
        );
    }

    #[test]
    fn short_first_segment_moves_keyframes_and_seeks() {
        let mut p = plan(Backend::Cpu, Codec::H264, 8);
        p.timeline.first_seconds = 1;
        let line = display_args(Path::new("ffmpeg"), &p.encode_args(0, Some(2)));
        assert!(line.contains("expr:gte(t,n_forced*4-3)"), "{line}");
        assert!(line.contains("-hls_time 1 "), "{line}");
        assert!(line.contains("-to 5 "), "{line}");
        let line = display_args(Path::new("ffmpeg"), &p.encode_args(2, None));
        assert!(line.contains("-ss 5 "), "{line}");
        assert!(line.contains("expr:gte(t,n_forced*4)"), "{line}");
        assert!(line.contains("-hls_time 4 "), "{line}");
    }

    #[test]
    fn restart_seeks_to_the_segment_boundary_and_reencodes_audio() {
        let args = plan(Backend::Cpu, Codec::H264, 8).encode_args(3, Some(5));
        let line = display_args(Path::new("ffmpeg"), &args);
        assert!(line.contains("-ss 12 -copyts"), "{line}");
        assert!(line.contains("-to 20"), "{line}");
        assert!(line.contains("-start_number 3"), "{line}");
        assert!(line.contains("-c:a aac"), "{line}");
    }

    macro_rules! snapshot {
        ($name:ident, $backend:expr, $codec:expr, $bits:expr) => {
            #[test]
            fn $name() {
                let p = plan($backend, $codec, $bits);
                let text = format!(
                    "{}\n{}\ncodecs={}\n",
                    display_args(Path::new("ffmpeg"), &p.encode_args(0, None)),
                    display_args(Path::new("ffmpeg"), &p.encode_args(5, Some(9))),
                    p.codecs()
                );
                insta::assert_snapshot!(text);
            }
        };
    }
    snapshot!(cpu_h264, Backend::Cpu, Codec::H264, 8);
    snapshot!(cpu_h264_10bit, Backend::Cpu, Codec::H264, 10);
    snapshot!(cpu_hevc, Backend::Cpu, Codec::Hevc, 8);
    snapshot!(cpu_hevc_10bit, Backend::Cpu, Codec::Hevc, 10);
    snapshot!(nvenc_h264, Backend::Nvenc, Codec::H264, 8);
    snapshot!(nvenc_h264_10bit, Backend::Nvenc, Codec::H264, 10);
    snapshot!(nvenc_hevc, Backend::Nvenc, Codec::Hevc, 8);
    snapshot!(nvenc_hevc_10bit, Backend::Nvenc, Codec::Hevc, 10);
    snapshot!(vaapi_h264, Backend::Vaapi, Codec::H264, 8);
    snapshot!(vaapi_h264_10bit, Backend::Vaapi, Codec::H264, 10);
    snapshot!(vaapi_hevc, Backend::Vaapi, Codec::Hevc, 8);
    snapshot!(vaapi_hevc_10bit, Backend::Vaapi, Codec::Hevc, 10);
    snapshot!(qsv_h264, Backend::Qsv, Codec::H264, 8);
    snapshot!(qsv_h264_10bit, Backend::Qsv, Codec::H264, 10);
    snapshot!(qsv_hevc, Backend::Qsv, Codec::Hevc, 8);
    snapshot!(qsv_hevc_10bit, Backend::Qsv, Codec::Hevc, 10);
}
