//! The ffmpeg command line of one encoder run: input seek, decoder and filters per backend,
//! encoder, forced keyframes on the timeline, audio, and the HLS or segment muxer. Output
//! names come from [`crate::store::names`] and are relative: every run is started inside its
//! job's folder.

use super::signal::h264_level;
use super::{EncodePlan, Profile};
use crate::caps::FfmpegCaps;
use crate::config::{Backend, Codec};
use crate::probe::input_url;
use crate::store::names;
use crate::timeline::Container;
use std::ffi::OsString;
use std::path::Path;

/// How far (seconds) an option is nudged off a keyframe cut to keep or skip the frame on it:
/// half a millisecond, less than any frame lasts.
const CUT_NUDGE: f64 = 0.0005;

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

/// How `-enc_time_base` names the demuxer's time base (each frame keeps the source's own
/// clock): `-1` up to 6.1; `demux` from 7.0, where `-1` warns that it is deprecated (7.1), and
/// 9.0 refuses it (`Invalid time base: -1`).
pub fn enc_time_base_demux(ffmpeg: FfmpegCaps) -> &'static str {
    if ffmpeg.at_least(7, 0) {
        "demux"
    } else {
        "-1"
    }
}

pub(crate) fn push(args: &mut Vec<OsString>, items: &[&str]) {
    args.extend(items.iter().map(OsString::from));
}

impl EncodePlan {
    /// The ffmpeg arguments (without the program) for a run that starts at segment `first` and
    /// stops before segment `end` (or at the end of the source), run inside the job's folder.
    ///
    /// `frames`, the source's frame times once read, place a run's seek and end on the very
    /// frame that begins a segment (see [`EncodePlan::cut_arg`]).
    pub fn encode_args(&self, first: u32, end: Option<u32>, frames: Option<&[f64]>) -> Vec<OsString> {
        let t = &self.timeline;
        let mut a: Vec<OsString> = Vec::new();
        push(&mut a, &["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]);
        if !self.stream_copy {
            a.extend(self.hw_input_args());
        }
        if let Some(at) = self.input_seek(first, frames) {
            push(&mut a, &["-ss", &at]);
        }
        push(&mut a, &["-copyts", "-start_at_zero", "-i"]);
        a.push(input_url(&self.input));
        push(&mut a, &["-map", &format!("0:{}", self.media.video_index)]);
        if let Some(audio) = &self.audio {
            push(&mut a, &["-map", &format!("0:{}", audio.index)]);
        }
        push(&mut a, &["-map_metadata", "-1", "-map_chapters", "-1"]);
        let end_k = end.unwrap_or(t.count());
        let trim = self.output_seek(first).then(|| self.cut_arg(first, frames));
        if self.stream_copy {
            push(&mut a, &["-c:v", "copy"]);
        } else {
            a.extend(self.video_args());
            let forced = self.forced_keyframes(first, end_k, trim.as_deref());
            // ffmpeg refuses an empty list (a one-segment run: its first frame is a keyframe).
            if !forced.is_empty() {
                push(&mut a, &["-force_key_frames", &forced]);
            }
        }
        a.extend(self.audio_args());
        if let Some(at) = &trim {
            // Output -ss trims to the frame (the audio copy to the packet) but moves the clock
            // back by as much, which the offset undoes.
            push(&mut a, &["-ss", at, "-output_ts_offset", at]);
        }
        push(&mut a, &["-avoid_negative_ts", "disabled"]);
        if let Some(end) = end {
            let to = if self.stream_copy { t.start_arg(end, -CUT_NUDGE) } else { self.cut_arg(end, frames) };
            push(&mut a, &["-to", &to]);
        }
        push(&mut a, &["-progress", "pipe:1", "-nostats"]);
        if self.stream_copy {
            a.extend(self.copy_muxer_args(first, end_k));
            return a;
        }
        a.extend(self.hls_muxer_args(first));
        a
    }

    /// The input seek of a run from segment `first` (none from the start).
    fn input_seek(&self, first: u32, frames: Option<&[f64]>) -> Option<String> {
        let t = &self.timeline;
        let preroll = self.media.seek_preroll();
        if first == 0 {
            return None;
        }
        // Input seek to a segment boundary: with -copyts the new run's timestamps continue
        // the timeline, so its segments line up with those of earlier runs. An encoder enters
        // `preroll` earlier, where its decoder finds a keyframe, and the run's output -ss
        // trims it to the boundary. A copy starts at the keyframe at or before the seek point:
        // the one on the cut.
        Some(match (self.stream_copy, preroll > 0.0) {
            (true, _) => t.start_arg(first, CUT_NUDGE),
            (false, true) => format!("{:.6}", (t.start(first) - preroll).max(0.0)),
            (false, false) => self.cut_arg(first, frames),
        })
    }

    /// The HLS muxer of an encoding run from segment `first`, writing the job's file names.
    fn hls_muxer_args(&self, first: u32) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        // Keyframes exist only at segment boundaries (the GOP is longer than a segment), so a
        // tiny hls_time cuts at each of them whatever the first frame's time (the muxer counts
        // from it: a first frame 23 ms in put a 1 s interval past the keyframe 998 ms later).
        push(&mut a, &["-f", "hls", "-hls_time", "0.1"]);
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
                    &names::run_init(first),
                    "-hls_segment_options",
                    "movflags=+frag_discont",
                ],
            ),
        }
        a.push("-hls_segment_filename".into());
        push(&mut a, &[&names::segment_pattern(self.container()), &names::run_playlist(first)]);
        a
    }

    /// Where an encoding run seeks to, or stops at, boundary `k`: just before the source's first
    /// frame on or after it, once the frames are read, else just before the boundary. A run
    /// that passes a boundary cuts its copied audio at that frame (its keyframe), not at the
    /// boundary: at 23.976 fps a frame starts up to 42 ms after it, and a run started at the
    /// boundary itself carried the audio of those 42 ms twice, once more than the segment before.
    fn cut_arg(&self, k: u32, frames: Option<&[f64]>) -> String {
        let t = &self.timeline;
        let (boundary, next) = (t.start(k), if k + 1 < t.count() { t.start(k + 1) } else { f64::INFINITY });
        // Frames read only near the cuts may lack this one's: never a frame of a later segment.
        let frame = frames.and_then(|f| f.get(f.partition_point(|&x| x < boundary - 1e-7))).filter(|&&f| f < next);
        match frame {
            Some(&frame) => format!("{:.6}", (frame - CUT_NUDGE).max(0.0)),
            None => self.timeline.start_arg(k, -CUT_NUDGE),
        }
    }

    /// `-force_key_frames` for a run over segments `first..end`: every boundary inside it, as
    /// times on the source's clock, the same clock `-ss` seeks on. (An `expr:` counts `t` from
    /// the run's first frame: a source whose video starts 0.3 s in got its keyframes 0.3 s
    /// late, and a run started by a seek disagreed with one from the start.)
    ///
    /// With an output seek to `trim` the encoder's clock starts there, so the times are counted
    /// from it (counted from the boundary instead, a seek to a frame 33 ms after it forced each
    /// later keyframe one frame late: 119 frames in a segment of 120).
    fn forced_keyframes(&self, first: u32, end: u32, trim: Option<&str>) -> String {
        // The time exactly as ffmpeg reads the -ss it is given.
        let Some(origin) = trim.and_then(|t| t.parse::<f64>().ok()) else {
            return self.cuts_within(first, end).join(",");
        };
        (first + 1..end).map(|k| format!("{:.6}", self.timeline.start(k) - origin)).collect::<Vec<_>>().join(",")
    }

    /// Whether a run from `first` enters the source before its boundary and trims to it with
    /// an output seek (a container without a keyframe index).
    fn output_seek(&self, first: u32) -> bool {
        first > 0 && !self.stream_copy && self.media.seek_preroll() > 0.0
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
        push(&mut a, &[names::COPY_PATTERN]);
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

    /// The filter chain: the deinterlacer where the source is interlaced, then lanczos on the
    /// backend's own frames or the user's shader, and square pixels where the source's were not.
    fn video_filter(&self) -> String {
        let chain = self.scale_filter();
        let chain = match self.deinterlacer() {
            Some(deinterlace) => format!("{deinterlace},{chain}"),
            None => chain,
        };
        // The scaler already drew the picture at its displayed aspect; only the flag is left.
        if self.media.sar.is_some() {
            format!("{chain},setsar=1")
        } else {
            chain
        }
    }

    /// The deinterlacer for an interlaced source, on the frames the scaler gets (QSV's is an
    /// option of its scaler). One frame out per frame in, at the frame's own time, so segments
    /// hold exactly the source's frames; both fields of each frame are interpolated from their
    /// neighbours in time (bwdif, yadif_cuda, the driver's motion-adaptive deinterlace_vaapi).
    fn deinterlacer(&self) -> Option<&'static str> {
        if !self.media.interlaced() {
            return None;
        }
        const BWDIF: &str = "bwdif=mode=send_frame:parity=auto:deint=all";
        if self.shader.is_some() {
            return Some(BWDIF);
        }
        match self.backend {
            Backend::Cpu | Backend::Auto => Some(BWDIF),
            Backend::Nvenc => Some("yadif_cuda=mode=send_frame:parity=auto:deint=all"),
            Backend::Vaapi => Some("deinterlace_vaapi=rate=frame"),
            Backend::Qsv => None,
        }
    }

    /// The scaler: lanczos on the backend's own frames, or the user's shader.
    fn scale_filter(&self) -> String {
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
            Backend::Qsv => {
                let deinterlace = if self.media.interlaced() { "deinterlace=advanced:" } else { "" };
                format!("vpp_qsv={deinterlace}w={w}:h={h}:format={hw_format}")
            }
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
        // Every source frame, each at its own time: no frame dropped or doubled to make a
        // constant rate, and timestamps in the source's own clock. An encoder clock of 1/fps
        // rounds millisecond Matroska times (video 23 ms after the audio) onto the wrong side
        // of a segment boundary, so a frame at a join was lost (479 of 480).
        push(&mut a, &["-fps_mode:v", "passthrough", "-enc_time_base:v", enc_time_base_demux(self.ffmpeg)]);
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
        // No B-frames: a keyframe is then muxed at its own time, not 2 frames early, so every
        // audio packet shown before a cut lands in the segment before it. With B-frames the last
        // ~80 ms of each segment's audio went into the next one, and wherever two runs met (a
        // seek, a gap filled, a stopped encoder) that audio was missing.
        push(&mut a, &["-g", &gop, "-bf", "0"]);
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

    /// AAC-LC is copied in every run: its packets keep the source's own times, so two runs meet
    /// without a gap or an overlap (a re-encode primes each run with a frame of its own). After
    /// `-ss`, `-copypriorss 0` drops the packets before the seek point that the keyframe seek
    /// brought in. Any other audio becomes AAC with the source's layout.
    fn audio_args(&self) -> Vec<OsString> {
        let mut a = Vec::new();
        let Some(audio) = &self.audio else { return a };
        if audio.copyable() {
            push(&mut a, &["-c:a", "copy", "-copypriorss:a", "0"]);
        } else {
            let bitrate = (64 * audio.channels).min(384);
            // The encoded audio follows its own sample count, not the source's timestamps: a
            // DVD muxer's 64 ms jump followed by a repeated time (ffmpeg 7.1's vob) was a hole
            // in the segment; a jump over 10 ms is filled with silence (or an overlap cut) so
            // the picture stays in sync.
            push(&mut a, &["-filter:a", "aresample=async=1:min_hard_comp=0.01"]);
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
    use crate::plan::fixtures::plan;
    use crate::plan::SourceCopy;
    use crate::timeline::Timeline;

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
        let line = display_args(Path::new("ffmpeg"), &p.encode_args(2, Some(4), None));
        // Keep the frame on the cut, stop before the next run's first frame.
        assert!(line.contains("-ss 4.999500 -copyts"), "{line}");
        assert!(line.contains("-force_key_frames 8.500000 "), "{line}");
        assert!(line.contains("-to 12.499500 "), "{line}");
        assert!(
            line.contains("-g 192 ") && line.contains("-hls_time 0.1 "),
            "GOP over twice the longest segment: {line}"
        );
        let whole = display_args(Path::new("ffmpeg"), &p.encode_args(0, None, None));
        assert!(whole.contains("-force_key_frames 1.500000,5.000000,8.500000,12.500000,16.250000 "), "{whole}");
        let one = display_args(Path::new("ffmpeg"), &p.encode_args(3, Some(4), None));
        assert!(!one.contains("-force_key_frames"), "a one-segment run has no keyframe to force: {one}");

        let f = p.fallback();
        assert!(f.stream_copy && f.timeline == p.timeline && f.shader.is_none());
        assert_eq!((f.profile.width, f.profile.height, f.backend), (320, 180, Backend::Cpu));
        assert_eq!((f.codecs(), f.bandwidth()), ("avc1.64000d,mp4a.40.2".into(), 300_000 + 384_000));
        let copy = display_args(Path::new("/usr/bin/ffmpeg"), &f.encode_args(2, Some(4), None));
        insta::assert_snapshot!(copy, @"/usr/bin/ffmpeg -hide_banner -nostdin -loglevel error -y -ss 5.000500 -copyts -start_at_zero -i 'file:/media/-odd: name '\\''q'\\''.mkv' -map 0:0 -map 0:1 -map_metadata -1 -map_chapters -1 -c:v copy -c:a copy -copypriorss:a 0 -avoid_negative_ts disabled -to 12.499500 -progress pipe:1 -nostats -f segment -segment_format mpegts -segment_format_options mpegts_flags=+initial_discontinuity:avoid_negative_ts=disabled -segment_times 8.500000 -segment_time_delta 0.0005 -segment_start_number 2 seg_%05d.ts.tmp");
        let last = display_args(Path::new("ffmpeg"), &f.encode_args(5, None, None));
        assert!(last.contains("-segment_times 21.000000 "), "no cut left: one past the end, {last}");
    }

    #[test]
    fn an_interlaced_anamorphic_dvd_is_deinterlaced_before_the_scaler_and_ends_in_square_pixels() {
        let vf = |backend: Backend| {
            let mut p = plan(backend, Codec::H264, 8);
            p.media.field_order = "tt".into();
            p.media.sar = Some([32, 27]);
            p.profile.width = 1706;
            let args = p.encode_args(0, None, None);
            let i = args.iter().position(|a| a == "-vf").unwrap();
            args[i + 1].to_string_lossy().into_owned()
        };
        let all: Vec<String> =
            [Backend::Cpu, Backend::Nvenc, Backend::Vaapi, Backend::Qsv].into_iter().map(vf).collect();
        insta::assert_snapshot!(all.join("\n"), @r"
        bwdif=mode=send_frame:parity=auto:deint=all,scale=1706:360:flags=lanczos,format=yuv420p,setsar=1
        yadif_cuda=mode=send_frame:parity=auto:deint=all,scale_cuda=1706:360:interp_algo=lanczos:format=yuv420p,setsar=1
        deinterlace_vaapi=rate=frame,scale_vaapi=w=1706:h=360:mode=hq:format=nv12,setsar=1
        vpp_qsv=deinterlace=advanced:w=1706:h=360:format=nv12,setsar=1
        ");
        let mut progressive = plan(Backend::Cpu, Codec::H264, 8);
        progressive.media.field_order = "progressive".into();
        let line = display_args(Path::new("ffmpeg"), &progressive.encode_args(0, None, None));
        assert!(line.contains("-vf scale=640:360:flags=lanczos,format=yuv420p -fps_mode"), "{line}");
    }

    #[test]
    fn input_is_passed_as_one_file_url_argument() {
        let args = plan(Backend::Cpu, Codec::H264, 8).encode_args(0, None, None);
        let i = args.iter().position(|a| a == "-i").unwrap();
        assert_eq!(args[i + 1], "file:/media/-odd: name 'q'.mkv");
    }

    #[test]
    fn shader_paths_are_escaped_into_one_filter_value() {
        assert_eq!(escape_filter_value("/s/a:b,c'd.glsl"), r"/s/a\\:b\,c\\\'d.glsl");
        let mut p = plan(Backend::Cpu, Codec::H264, 8);
        p.shader = Some("/shaders/FSRCNNX x2.glsl".into());
        let line = display_args(Path::new("ffmpeg"), &p.encode_args(0, None, None));
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
        // Keyframes at the boundaries on the source's clock, the clock -ss and -to use too.
        let line = display_args(Path::new("ffmpeg"), &p.encode_args(0, Some(3), None));
        assert!(line.contains("-force_key_frames 1,5 "), "{line}");
        assert!(line.contains("-to 9 "), "{line}");
        let line = display_args(Path::new("ffmpeg"), &p.encode_args(2, None, None));
        assert!(line.contains("-ss 5 "), "{line}");
        assert!(line.contains("-force_key_frames 9,13,17 "), "{line}");
        assert!(line.contains("-hls_time 0.1 "), "{line}");
    }

    #[test]
    fn restart_seeks_to_the_segment_boundary_and_copies_aac_from_there() {
        let mut p = plan(Backend::Cpu, Codec::H264, 8);
        let line = display_args(Path::new("ffmpeg"), &p.encode_args(3, Some(5), None));
        assert!(line.contains("-ss 12 -copyts"), "{line}");
        assert!(line.contains("-to 20"), "{line}");
        assert!(line.contains("-start_number 3"), "{line}");
        assert!(line.contains("-c:a copy -copypriorss:a 0"), "no packet from before the seek: {line}");
        assert!(line.contains("-fps_mode:v passthrough -enc_time_base:v -1"), "every frame at its time: {line}");
        p.audio.as_mut().unwrap().codec = "ac3".into();
        let line = display_args(Path::new("ffmpeg"), &p.encode_args(3, Some(5), None));
        assert!(line.contains("-c:a aac -b:a 128k"), "{line}");
        p.audio.as_mut().unwrap().codec = "aac".into();
        p.audio.as_mut().unwrap().profile = Some("HE-AAC".into());
        assert!(!display_args(Path::new("ffmpeg"), &p.encode_args(3, Some(5), None)).contains("-c:a copy"));
    }

    #[test]
    fn a_source_clock_starting_before_zero_is_entered_early_and_trimmed_by_an_output_seek() {
        let mut p = plan(Backend::Cpu, Codec::H264, 8);
        p.media.start_time = -0.023;
        let line = display_args(Path::new("ffmpeg"), &p.encode_args(3, Some(5), None));
        assert!(line.contains("-ss 11.000000 -copyts"), "{line}");
        assert!(line.contains("-c:a copy -copypriorss:a 0 -ss 12 -output_ts_offset 12 "), "{line}");
        assert!(line.contains("-force_key_frames 4.000000 "), "counted from the output seek: {line}");
    }

    #[test]
    fn every_frame_keeps_its_time_in_each_ffmpeg_versions_words() {
        for (version, expected) in [((5, 1), "-1"), ((6, 1), "-1"), ((7, 1), "demux"), ((9, 0), "demux")] {
            let p = EncodePlan { ffmpeg: FfmpegCaps { version }, ..plan(Backend::Cpu, Codec::H264, 8) };
            let line = display_args(Path::new("ffmpeg"), &p.encode_args(3, Some(5), None));
            assert!(
                line.contains(&format!("-fps_mode:v passthrough -enc_time_base:v {expected} ")),
                "{version:?}: {line}"
            );
        }
    }

    macro_rules! snapshot {
        ($name:ident, $backend:expr, $codec:expr, $bits:expr) => {
            snapshot!($name, $backend, $codec, $bits, (5, 1));
        };
        ($name:ident, $backend:expr, $codec:expr, $bits:expr, $version:expr) => {
            #[test]
            fn $name() {
                let p = EncodePlan { ffmpeg: FfmpegCaps { version: $version }, ..plan($backend, $codec, $bits) };
                let text = format!(
                    "{}\n{}\ncodecs={}\n",
                    display_args(Path::new("ffmpeg"), &p.encode_args(0, None, None)),
                    display_args(Path::new("ffmpeg"), &p.encode_args(5, Some(9), None)),
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
    // Jellyfin 10.11's ffmpeg, and the newest Debian has.
    snapshot!(cpu_h264_ffmpeg_7_1, Backend::Cpu, Codec::H264, 8, (7, 1));
    snapshot!(cpu_hevc_ffmpeg_7_1, Backend::Cpu, Codec::Hevc, 8, (7, 1));
    snapshot!(nvenc_hevc_ffmpeg_7_1, Backend::Nvenc, Codec::Hevc, 8, (7, 1));
    snapshot!(cpu_h264_ffmpeg_9_0, Backend::Cpu, Codec::H264, 8, (9, 0));
}
