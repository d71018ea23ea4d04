//! Never stutter: the master playlist offers a cheap fallback variant on the same timeline, a
//! viewer of an encoder too slow for real time switches to it and never waits a whole segment,
//! and a background job held (SIGSTOP) for a starved viewer still saves a verified file.

mod common;

use common::*;
use jellyscale::{Codec, Config, Engine, JobState, StreamRequest};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// These tests measure behaviour in real time on a 2-core machine: one at a time, so none
/// slows another's encoders.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn get(url: &str) -> Vec<u8> {
    let r = reqwest::blocking::Client::new().get(url).timeout(Duration::from_secs(120)).send().expect("http get");
    assert_eq!(r.status().as_u16(), 200, "{url}");
    r.bytes().unwrap().to_vec()
}

fn get_text(url: &str) -> String {
    String::from_utf8(get(url)).unwrap()
}

fn status(base: &str) -> serde_json::Value {
    serde_json::from_str(&get_text(&format!("{base}status"))).unwrap()
}

/// `(attributes, uri)` of each variant of a master playlist.
fn variants_of(master: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = master.lines().collect();
    lines
        .windows(2)
        .filter_map(|w| w[0].strip_prefix("#EXT-X-STREAM-INF:").map(|a| (a.to_owned(), w[1].to_owned())))
        .collect()
}

fn attribute<'a>(attributes: &'a str, name: &str) -> &'a str {
    let at = attributes.find(&format!("{name}=")).unwrap_or_else(|| panic!("{name} missing in {attributes}"));
    let value = &attributes[at + name.len() + 1..];
    match value.strip_prefix('"') {
        Some(quoted) => &quoted[..quoted.find('"').unwrap()],
        None => value.split(',').next().unwrap(),
    }
}

/// `(duration, uri)` of each segment of a media playlist.
fn segments(media: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = media.lines().collect();
    lines
        .windows(2)
        .filter_map(|w| w[0].strip_prefix("#EXTINF:").map(|d| (d.trim_end_matches(',').to_owned(), w[1].to_owned())))
        .collect()
}

/// The base URL of a variant's media playlist (its segment URIs are relative to it).
fn variant_base(base: &str, uri: &str) -> String {
    let path = uri.split('?').next().unwrap();
    format!("{base}{}", &path[..path.rfind('/').map_or(0, |i| i + 1)])
}

/// Starts a job nobody watches and waits until it is background work (`viewer_idle_seconds`).
fn start_unwatched(engine: &Engine, src: &Path) -> std::sync::Arc<jellyscale::job::Job> {
    let job = engine.job(&engine.start(request(src, Codec::H264)).unwrap().job_id).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while job.status().priority != Some("background") {
        assert!(Instant::now() < deadline, "never dropped to background: {:?}", job.status());
        std::thread::sleep(Duration::from_millis(100));
    }
    job
}

/// The RFC 6381 codecs of a segment, from what ffprobe finds in it.
fn probed_codecs(file: &Path) -> (String, u32, u32, f64) {
    let entries = "stream=codec_type,codec_name,codec_tag_string,profile,level,width,height,start_time";
    let v = ffprobe_json(file.to_str().unwrap(), entries);
    let mut codecs = Vec::new();
    let (mut w, mut h, mut start) = (0, 0, 0.0);
    for s in v["streams"].as_array().unwrap() {
        let level = s["level"].as_u64().unwrap_or(0);
        let video = match (s["codec_type"].as_str(), s["codec_name"].as_str(), s["profile"].as_str()) {
            (Some("video"), Some("h264"), Some("High")) => format!("avc1.6400{level:02x}"),
            (Some("video"), Some("h264"), Some("Main")) => format!("avc1.4d00{level:02x}"),
            // x264 sets constraint flags 0 and 1 for it (ffprobe does not show them).
            (Some("video"), Some("h264"), Some("Constrained Baseline")) => format!("avc1.42c0{level:02x}"),
            (Some("video"), Some("hevc"), Some(profile)) => {
                assert_eq!(s["codec_tag_string"], "hvc1", "Apple players need hvc1");
                let profile = if profile == "Main 10" { "2.4" } else { "1.6" };
                format!("hvc1.{profile}.L{level}.90")
            }
            (Some("audio"), Some("aac"), _) => {
                codecs.push("mp4a.40.2".to_owned());
                continue;
            }
            other => panic!("unexpected stream {other:?}"),
        };
        codecs.push(video);
        w = s["width"].as_u64().unwrap() as u32;
        h = s["height"].as_u64().unwrap() as u32;
        start = s["start_time"].as_str().unwrap().parse().unwrap();
    }
    (codecs.join(","), w, h, start)
}

#[test]
fn master_playlist_variants_share_one_timeline_and_announce_what_ffprobe_finds() {
    variants_share_one_timeline_and_announce_what_ffprobe_finds(Codec::H264, None);
}

#[test]
fn hevc_fmp4_variants_share_one_timeline_and_announce_what_ffprobe_finds() {
    variants_share_one_timeline_and_announce_what_ffprobe_finds(Codec::Hevc, None);
}

#[test]
fn a_stream_copied_fallback_shares_a_timeline_cut_at_the_source_keyframes() {
    variants_share_one_timeline_and_announce_what_ffprobe_finds(Codec::H264, Some("clip.mp4"));
}

#[test]
fn a_stream_copied_mpeg_ts_source_whose_clock_starts_late_keeps_the_cuts() {
    // MPEG-TS sources start at 1.4 s: the cuts are on the timeline -start_at_zero gives them.
    variants_share_one_timeline_and_announce_what_ffprobe_finds(Codec::H264, Some("clip.ts"));
}

/// Keyframes of the clip a copy is made from: no segment boundary of the fixed timeline (1 s,
/// then every 2 s) is one.
const SOURCE_KEYFRAMES: &str = "0,1.5,3.25,5,6.75,8.5";

/// The ladder of a 320x180 clip; with `copy_from` (a file name) the clip has [`SOURCE_KEYFRAMES`]
/// and the fallback copies it.
fn variants_share_one_timeline_and_announce_what_ffprobe_finds(codec: Codec, copy_from: Option<&str>) {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let copy = copy_from.is_some();
    let src = if let Some(name) = copy_from {
        let keyframes = ["-force_key_frames", SOURCE_KEYFRAMES, "-g", "1000", "-sc_threshold", "0"];
        clip(dir.path(), name, 9.5, "320x180", &keyframes)
    } else {
        clip(dir.path(), "clip.mp4", 9.0, "320x180", &[])
    };
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let st = engine.start(StreamRequest { copy_fallback: copy, ..request(&src, codec) }).unwrap();
    let base = serve_router(&engine, &st.job_id);

    let master = get_text(&format!("{base}master.m3u8?ApiKey=k"));
    let variants = variants_of(&master);
    assert_eq!(variants.len(), 3, "{master}");
    assert!(variants.iter().all(|(_, uri)| uri.ends_with("main.m3u8?ApiKey=k")), "{master}");
    let sizes: Vec<&str> = variants.iter().map(|(a, _)| attribute(a, "RESOLUTION")).collect();
    assert_eq!(sizes, ["640x360", "426x240", "320x180"], "upscaled, lower target, source size");
    let bandwidth = |i: usize| attribute(&variants[i].0, "BANDWIDTH").parse::<u64>().unwrap();
    // A copy's BANDWIDTH is the source's own peak, whatever the encoded rungs' caps are.
    assert!((copy || bandwidth(2) < bandwidth(1)) && bandwidth(1) < bandwidth(0));

    let lists: Vec<Vec<(String, String)>> =
        variants.iter().map(|(_, uri)| segments(&get_text(&format!("{base}{uri}")))).collect();
    let durations = |l: &Vec<(String, String)>| l.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>();
    let mut video_delay = 0.0;
    if copy {
        // Cut at the first keyframe at least 1 s, then 2 s, after the last cut: 1.5, 5, 8.5.
        let d: Vec<f64> = lists[0].iter().map(|(d, _)| d.parse().unwrap()).collect();
        assert_eq!(d.len(), 4, "{d:?}");
        // In MPEG-TS the audio starts a little before the video (AAC priming): the timeline
        // starts with the audio, the cuts are where the video's keyframes are on it.
        video_delay = d[0] - 1.5;
        assert!((0.0..0.05).contains(&video_delay), "{d:?}");
        assert!((d[1] - 3.5).abs() < 1e-6 && (d[2] - 3.5).abs() < 1e-6, "{d:?}");
        let source = probed_codecs(&src).0;
        assert_eq!(attribute(&variants[2].0, "CODECS"), source, "the fallback announces the source's own video");
    } else {
        assert_eq!(lists[0].len(), 5, "1 s first segment, then 2 s segments: {:?}", lists[0]);
    }
    for other in &lists[1..] {
        assert_eq!(durations(&lists[0]), durations(other), "same segment count and durations");
    }

    // Nothing encodes a cheaper rung until a viewer asks for it.
    let rungs = status(&base)["rungs"].as_array().unwrap().clone();
    assert_eq!(rungs.len(), 2);
    for rung in &rungs {
        assert_eq!(rung["segments_ready"], 0, "{rung}");
        let folder = dir.path().join("cache").join(&st.job_id).join(rung["role"].as_str().unwrap());
        assert!(!folder.exists(), "{}", folder.display());
    }

    let files = dir.path().join("segments");
    std::fs::create_dir_all(&files).unwrap();
    // A rung's first run starts where its viewer first asks (the copy seeks to a keyframe),
    // and a request behind it starts it again from there.
    for k in [2, 0, lists[0].len() - 1] {
        let mut starts = Vec::new();
        for (i, (attributes, uri)) in variants.iter().enumerate() {
            let variant = variant_base(&base, uri);
            // An fMP4 segment is read after its variant's init section, as players do.
            let mut bytes = if codec == Codec::Hevc { get(&format!("{variant}init.mp4")) } else { Vec::new() };
            let segment = get(&format!("{variant}{}", lists[i][k].1));
            // The cheaper rungs are capped: BANDWIDTH bounds their every segment (HLS: the peak).
            let bitrate = segment.len() as f64 * 8.0 / lists[i][k].0.parse::<f64>().unwrap();
            eprintln!("variant {i} segment {k}: {:.0} kbit/s, BANDWIDTH {}", bitrate / 1000.0, bandwidth(i));
            if i > 0 {
                assert!(bitrate <= bandwidth(i) as f64, "variant {i} segment {k}: {bitrate} bit/s over BANDWIDTH");
            }
            bytes.extend(segment);
            let file = files.join(format!("v{i}_{k}.{}", if codec == Codec::Hevc { "mp4" } else { "ts" }));
            std::fs::write(&file, bytes).unwrap();
            let (codecs, w, h, start) = probed_codecs(&file);
            assert_eq!(codecs, attribute(attributes, "CODECS"), "variant {i} segment {k}");
            assert_eq!(format!("{w}x{h}"), attribute(attributes, "RESOLUTION"), "variant {i} segment {k}");
            let shown_from = if k == 0 { video_delay } else { 0.0 };
            let frames = ((lists[i][k].0.parse::<f64>().unwrap() - shown_from) * 24.0).round() as u32;
            assert_eq!(frame_count(&file), frames, "variant {i} segment {k} holds exactly its frames");
            starts.push(start);
        }
        assert!(starts.iter().all(|s| (s - starts[0]).abs() < 0.5 / 24.0), "segment {k} starts differ: {starts:?}");
    }
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
}

#[test]
fn a_single_request_runs_a_rung_one_segment_ahead_until_a_second_shows_a_viewer() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "clip.mp4", 30.0, "320x180", &[]);
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let base = serve_router(&engine, &st.job_id);
    let fallback_ready = || status(&format!("{base}fallback/"))["segments_ready"].as_u64().unwrap();

    // A player probing every variant at start asks each for its first segment, once.
    assert!(!get(&format!("{base}fallback/0.ts")).is_empty());
    std::thread::sleep(Duration::from_secs(2));
    let probed = fallback_ready();
    assert!(probed <= 3, "a lone request made {probed} segments");

    // A second request: someone watches it; the rung runs its full lead ahead. The viewer
    // stays (asking again every few seconds, as a player at that point would), so a busy
    // machine's slow encoder is never taken for a viewer gone idle.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut asked: Option<Instant> = None;
    while fallback_ready() < 8 {
        assert!(Instant::now() < deadline, "the rung stayed {} segments ahead", fallback_ready());
        if asked.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
            assert!(!get(&format!("{base}fallback/1.ts")).is_empty());
            asked = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_finished_job_announces_the_peak_bandwidth_measured_on_its_segments() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    // Noise compresses badly: far more bits than the 0.12 bit a pixel estimate.
    let src = clip(dir.path(), "noisy.mp4", 6.0, "320x180", &["-vf", "noise=alls=40:allf=t"]);
    let engine = Engine::new(config(dir.path(), 2)).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let base = serve_router(&engine, &st.job_id);
    let bandwidth = || -> u64 {
        let master = get_text(&format!("{base}master.m3u8"));
        attribute(&variants_of(&master)[0].0, "BANDWIDTH").parse().unwrap()
    };
    let estimated = bandwidth();
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let measured = bandwidth();
    assert!(measured > estimated, "measured {measured} vs estimated {estimated}");
    let list = segments(&get_text(&format!("{base}main.m3u8")));
    for (duration, uri) in list.iter().filter(|(d, _)| d.starts_with("2.")) {
        let bitrate = get(&format!("{base}{uri}")).len() as f64 * 8.0 / duration.parse::<f64>().unwrap();
        assert!(bitrate <= measured as f64, "{uri}: {bitrate} bit/s over BANDWIDTH {measured}");
    }
}

#[test]
fn a_viewer_of_an_encoder_too_slow_for_real_time_switches_to_the_fallback_and_never_waits_a_segment() {
    slow_encoder_viewer(false);
}

#[test]
fn a_viewer_of_an_encoder_too_slow_for_real_time_switches_to_a_copy_of_the_source_and_never_waits_a_segment() {
    slow_encoder_viewer(true);
}

fn slow_encoder_viewer(copy: bool) {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let src = if copy {
        // Keyframes every 1.5 s: a 1.5 s first segment, then 3 s ones (the first keyframe at
        // least 2 s after the last cut).
        let keyframes = ["-force_key_frames", "expr:gte(t,n_forced*1.5)", "-g", "1000", "-sc_threshold", "0"];
        clip(dir.path(), "clip.mp4", 30.0, "320x180", &keyframes)
    } else {
        clip(dir.path(), "clip.mp4", 30.0, "320x180", &[])
    };
    let shader = shader_file(dir.path());
    // libplacebo on the CPU manages a few frames a second: below real time at any preset.
    let cfg = Config { shader_path: Some(shader), cpu_preset: "superfast".into(), ..config(dir.path(), 2) };
    let engine = Engine::new(cfg).unwrap();
    // 4x (1280x720): the shader's cost grows with the output, far past what 2 cores do in real time.
    let st = engine.start(StreamRequest { scale: Some(4), copy_fallback: copy, ..request(&src, Codec::H264) }).unwrap();
    assert_eq!(st.rungs[1].stream_copy, copy, "{st:?}");
    let base = serve_router(&engine, &st.job_id);
    let variants = variants_of(&get_text(&format!("{base}master.m3u8")));
    let lists: Vec<Vec<(String, String)>> =
        variants.iter().map(|(_, uri)| segments(&get_text(&format!("{base}{uri}")))).collect();
    let bases: Vec<String> = variants.iter().map(|(_, uri)| variant_base(&base, uri)).collect();
    let durations: Vec<f64> = lists[0].iter().map(|(d, _)| d.parse().unwrap()).collect();

    // A player at playback pace: it asks for a segment when two segments of video are left in
    // its buffer, from the best variant that has it ready (upscaled, then the lower target),
    // else from the fallback.
    const BUFFER: f64 = 4.0;
    let mut play_start: Option<Instant> = None;
    let (mut used, mut stalls, mut verdicts) = (Vec::new(), Vec::new(), Vec::new());
    let mut position = 0.0;
    for (k, duration) in durations.iter().enumerate() {
        let due = play_start.map(|t0| t0 + Duration::from_secs_f64(position));
        if let Some(due) = due {
            let ask = due.checked_sub(Duration::from_secs_f64(BUFFER)).unwrap_or(due);
            std::thread::sleep(ask.saturating_duration_since(Instant::now()));
        }
        let st = status(&base);
        verdicts.push(st["verdict"].as_str().unwrap_or("none").to_owned());
        let ready = |st: &serde_json::Value| {
            let ranges = st["ready_ranges"].as_array().unwrap();
            ranges.iter().any(|r| r[0].as_u64() <= Some(k as u64) && r[1].as_u64() >= Some(k as u64))
        };
        let variant = if ready(&st) {
            0
        } else if ready(&status(&format!("{base}lower/"))) {
            1
        } else {
            2
        };
        let bytes = get(&format!("{}{}", bases[variant], lists[variant][k].1));
        assert!(!bytes.is_empty());
        let got = Instant::now();
        used.push(variant);
        match due {
            Some(due) => stalls.push(got.saturating_duration_since(due).as_secs_f64()),
            None => play_start = Some(got),
        }
        position += duration;
    }
    let last = status(&base);
    eprintln!(
        "variants used {used:?}; stalls {stalls:.2?}; verdicts {verdicts:?}; adaptations {}",
        last["adaptations"]
    );
    for (k, stall) in stalls.iter().enumerate() {
        assert!(*stall <= durations[k + 1], "segment {} came {stall:.2} s late (variants {used:?})", k + 1);
    }
    assert!(used.contains(&2), "the viewer never needed the fallback: the encoder was not too slow");
    assert!(verdicts.iter().any(|v| v == "falling_behind"), "status never said why: {verdicts:?}");
    let adaptations = last["adaptations"].to_string();
    assert!(adaptations.contains("preset superfast -> ultrafast"), "{adaptations}");
    assert!(adaptations.contains("no faster preset left: the lower target 854x480 starts"), "{adaptations}");
    assert!(adaptations.contains("viewer on a cheaper variant"), "{adaptations}");
    assert!(last["speed"].as_f64().unwrap() < 1.0, "{last}");
}

#[test]
fn a_background_job_held_for_a_starved_viewer_continues_and_saves_a_verified_file() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let small = clip(dir.path(), "small.mp4", 12.0, "160x90", &[]);
    let big = clip(dir.path(), "big.mp4", 20.0, "320x180", &[]);
    let shader = shader_file(dir.path());
    let cfg =
        Config { shader_path: Some(shader), max_concurrent_jobs: 2, viewer_idle_seconds: 1, ..config(dir.path(), 2) };
    let engine = Engine::new(cfg).unwrap();
    let bg = start_unwatched(&engine, &small);
    let background = bg.id().to_owned();

    // A viewer of a slow job waits for its segments: the background job must give way.
    let viewed = engine.start(request(&big, Codec::H264)).unwrap().job_id;
    let handle = engine.handle();
    let id = viewed.clone();
    let viewer = engine.runtime().spawn(async move {
        for k in 0..10 {
            if handle.wait_segment(&id, k, Duration::from_secs(120)).await.is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let held = loop {
        let st = bg.status();
        assert!(!st.state.is_terminal(), "the background job ended before it was held: {st:?}");
        if st.held {
            break st;
        }
        assert!(Instant::now() < deadline, "never held: {st:?} / viewed {:?}", engine.status(&viewed).unwrap());
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(held.adaptations.iter().any(|a| a.contains("stopped")), "{:?}", held.adaptations);
    let stopped: Vec<u32> = ffmpeg_children(std::process::id(), &dir.path().join("cache").join(&background));
    assert_eq!(stopped.len(), 1);
    // SIGSTOP lands when the kernel next schedules it: wait for the state (bounded), a loaded
    // machine may show it in D or R first.
    let stat = || std::fs::read_to_string(format!("/proc/{}/stat", stopped[0])).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !stat().rsplit(')').next().unwrap().trim_start().starts_with('T') {
        assert!(Instant::now() < deadline, "ffmpeg not stopped: {}", stat());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(2));

    // The viewer leaves: the held job continues and finishes a complete, verified file.
    engine.cancel(&viewed).unwrap();
    viewer.abort();
    let done = run_to_end(&engine, &background);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    assert!(done.adaptations.iter().any(|a| a.contains("continued")), "{:?}", done.adaptations);
    assert_eq!(frame_count(done.final_path.as_ref().unwrap()), 12 * 24, "every frame, none twice");
}

#[test]
fn a_viewer_waiting_in_the_queue_gets_the_encoder_slot_of_a_background_job() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let long = clip(dir.path(), "long.mp4", 40.0, "320x180", &[]);
    let short = clip(dir.path(), "short.mp4", 4.0, "320x180", &[]);
    let cfg =
        Config { max_concurrent_jobs: 1, viewer_idle_seconds: 1, cpu_preset: "medium".into(), ..config(dir.path(), 2) };
    let engine = Engine::new(cfg).unwrap();
    let bg = start_unwatched(&engine, &long);
    let background = bg.id().to_owned();

    // The only slot is taken; a viewer of a second job asks for its first segment.
    let viewed = engine.start(request(&short, Codec::H264)).unwrap().job_id;
    assert_eq!(engine.status(&viewed).unwrap().state, JobState::Queued);
    let segment = engine.block_on(engine.wait_segment(&viewed, 0, Duration::from_secs(60)));
    assert!(segment.is_ok(), "{segment:?}");
    let st = bg.status();
    assert!(!st.state.is_terminal(), "the background job finished instead of yielding: {st:?}");
    assert!(st.adaptations.iter().any(|a| a.contains("gave its encoder slot")), "{:?}", st.adaptations);

    // Both still save complete files: the background job queues again and finishes later.
    assert_eq!(run_to_end(&engine, &viewed).state, JobState::Done);
    let done = run_to_end(&engine, &background);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    assert_eq!(frame_count(done.final_path.as_ref().unwrap()), 40 * 24);
}
