//! What a job trusts: a source replaced while its job runs ends the job with nothing saved,
//! SIGTERMs to its ffmpeg (which then flushes a short segment under its final name) at random
//! points leave the saved file exact, a cancel beats a finalization in progress, a finished file damaged after it was saved is set
//! aside and made again (never served short), and a full cache disk never puts a truncated
//! segment in front of a viewer; the job finishes once there is room again. A rung's segment left
//! empty on disk is made again, never served empty.

mod common;

use common::media::matroska_ms;
use common::*;
use jellyscale::{Codec, Config, Engine, ErrorCode, JobState};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn wait_state(engine: &Engine, id: &str, want: JobState) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while engine.status(id).unwrap().state != want {
        assert!(Instant::now() < deadline, "never {want:?}: {:?}", engine.status(id).unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_source_replaced_while_its_job_runs_ends_the_job_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = matroska_ms(dir.path(), "film.mkv", 30, "160x90");
    let mut cfg = config(dir.path(), 2);
    cfg.cpu_preset = "slow".into();
    let engine = Engine::new(cfg.clone()).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    engine.block_on(engine.wait_segment(&st.job_id, 1, Duration::from_secs(120))).unwrap();
    // A media manager upgrades the file: a new one renamed over it, size and time kept.
    let upgrade = matroska_ms(dir.path(), "upgrade.mkv", 30, "160x90");
    let (len, mtime) = (std::fs::metadata(&src).unwrap().len(), std::fs::metadata(&src).unwrap().modified().unwrap());
    std::fs::OpenOptions::new().write(true).open(&upgrade).unwrap().set_len(len).unwrap();
    std::fs::File::open(&upgrade).unwrap().set_modified(mtime).unwrap();
    std::fs::rename(&upgrade, &src).unwrap();
    // A seek makes the job start a run, which sees the new file (unless the running encoder,
    // which still reads the old one, made the segment first); at the latest, finalizing sees
    // it. Either way the job ends, and nothing of either file is kept.
    let _ = engine.block_on(engine.wait_segment(&st.job_id, 12, Duration::from_secs(120)));
    let done = run_to_end(&engine, &st.job_id);
    let e = done.error.expect("the job failed");
    assert_eq!(e.code, ErrorCode::BadInput, "{e:?}");
    assert!(e.message.contains("replaced"), "{}", e.message);
    assert_eq!(engine.status(&st.job_id).unwrap().state, JobState::Failed);
    assert!(!cfg.cache_dir.join(&st.job_id).exists(), "its segments are discarded");
    assert_eq!(std::fs::read_dir(cfg.output_dir.as_ref().unwrap()).map_or(0, |d| d.count()), 0, "nothing saved");
}

#[test]
fn a_cancel_during_finalizing_saves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = matroska_ms(dir.path(), "film.mkv", 6, "160x90");
    // The packet pass over the source (what the finished file is checked against) takes long.
    let slow = wrapped_ffprobe(dir.path(), "case \"$*\" in *packet=*) sleep 8;; esac");
    let cfg = Config { ffprobe_path: Some(slow), ..config(dir.path(), 2) };
    let out = cfg.output_dir.clone().unwrap();
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    wait_state(&engine, &st.job_id, JobState::Finalizing);
    engine.cancel(&st.job_id).unwrap();
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Cancelled, "{done:?}");
    assert!(done.final_path.is_none());
    assert_eq!(std::fs::read_dir(&out).map_or(0, |d| d.count()), 0, "no file appears");
}

#[test]
fn a_finished_file_damaged_after_it_was_saved_is_set_aside_and_made_again() {
    let dir = tempfile::tempdir().unwrap();
    let src = matroska_ms(dir.path(), "film.mkv", 10, "160x90");
    let cfg = config(dir.path(), 2);
    let saved = {
        let engine = Engine::new(cfg.clone()).unwrap();
        let st = engine.start(request(&src, Codec::H264)).unwrap();
        let done = run_to_end(&engine, &st.job_id);
        assert_eq!(done.state, JobState::Done, "{:?}", done.error);
        let saved = done.final_path.unwrap();
        // Served while whole; then a disk or copy error cuts it in half.
        let base = serve_router(&engine, &st.job_id);
        let len = std::fs::metadata(&saved).unwrap().len();
        assert_eq!(reqwest::blocking::get(format!("{base}4.ts")).unwrap().status(), 200);
        std::fs::OpenOptions::new().write(true).open(&saved).unwrap().set_len(len / 2).unwrap();
        let late = reqwest::blocking::get(format!("{base}4.ts")).unwrap();
        assert_eq!(late.status(), 500, "never a Content-Length the file cannot fill");
        saved
    };
    // A new engine does not reuse it: it is set aside and the job is made again, whole.
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    assert_ne!(st.state, JobState::Done, "the damaged file was reused");
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    assert_same_frames(&src, &done.final_path.unwrap());
    let mut aside = saved.into_os_string();
    aside.push(".damaged");
    assert!(Path::new(&aside).is_file(), "the damaged file is kept aside");
}

struct Tmpfs(std::path::PathBuf);
impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_cache_disk_never_serves_a_truncated_segment_and_the_job_finishes_once_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let src = matroska_ms(dir.path(), "film.mkv", 30, "320x180");
    let cache = dir.path().join("small");
    std::fs::create_dir_all(&cache).unwrap();
    // Room for a few segments of a job that makes several MB of them.
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&cache)
        .status()
        .is_ok_and(|s| s.success());
    assert!(mounted || std::env::var("CI").is_err(), "mounting a tmpfs needs root; CI runs as root");
    if !mounted {
        eprintln!("not root: cannot mount a small tmpfs, skipping");
        return;
    }
    let _guard = Tmpfs(cache.clone());
    let cfg = Config { cache_dir: cache.clone(), ..config(dir.path(), 2) };
    let (id, count) = {
        let engine = Engine::new(cfg.clone()).unwrap();
        let st = engine.start(request(&src, Codec::H264)).unwrap();
        // Every segment a viewer gets verifies: whole packets, its own frames.
        for k in 0..st.segment_count {
            match engine.block_on(engine.wait_segment(&st.job_id, k, Duration::from_secs(120))) {
                Ok(info) => {
                    assert_eq!(info.data.length % 188, 0, "segment {k} is cut short");
                    assert!(info.data.length > 0);
                }
                Err(_) => break,
            }
        }
        let done = run_to_end(&engine, &st.job_id);
        assert_eq!(done.state, JobState::Failed, "{done:?}");
        let e = done.error.unwrap();
        assert!(e.message.contains("disk full"), "{}", e.message);
        (st.job_id, st.segment_count)
    };
    // Room again: the next start finishes the job from what is on disk.
    assert!(Command::new("mount").args(["-o", "remount,size=64m"]).arg(&cache).status().unwrap().success());
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    assert_eq!((st.job_id.as_str(), st.segment_count), (id.as_str(), count));
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    assert_same_frames(&src, &done.final_path.unwrap());
}

#[test]
fn sigterm_to_ffmpeg_at_random_points_never_puts_a_short_segment_in_the_saved_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = matroska_ms(dir.path(), "film.mkv", 30, "160x90");
    let mut cfg = config(dir.path(), 2);
    cfg.cpu_preset = "slow".into();
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    let seed = 0x5EED_u64;
    let mut x = seed;
    let mut ready = 0;
    for term in 0..3 {
        // Wait for a new segment from a live ffmpeg, then signal it a random while later: ffmpeg
        // answers SIGTERM as systemd's stop does, by closing the segment it was writing.
        let deadline = Instant::now() + Duration::from_secs(120);
        let pid = loop {
            let now = engine.status(&st.job_id).unwrap();
            let pids = ffmpeg_children(std::process::id(), dir.path());
            if now.segments_ready > ready && pids.len() == 1 {
                ready = now.segments_ready;
                break pids[0];
            }
            assert!(Instant::now() < deadline && !now.state.is_terminal(), "no new segment: {now:?}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let delay = 100 + xorshift(&mut x) % 900;
        eprintln!("seed {seed:#x}: SIGTERM {term} to ffmpeg {pid} after {delay} ms");
        std::thread::sleep(Duration::from_millis(delay));
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM);
        while alive(pid) {
            assert!(Instant::now() < deadline, "ffmpeg {pid} ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let done = run_to_end(&engine, &st.job_id);
    assert_eq!(done.state, JobState::Done, "{:?}", done.error);
    let saved = done.final_path.unwrap();
    assert_same_frames(&src, &saved);
    assert_eq!(decode_errors(&saved), "");
    assert_continuous_audio(&saved, 44_100.0);
}

#[test]
fn an_empty_rung_segment_left_on_disk_is_made_again_and_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let src = matroska_ms(dir.path(), "film.mkv", 30, "160x90");
    let cfg = Config { cpu_preset: "slow".into(), ..config(dir.path(), 2) };
    let get = |url: String| {
        let reply = reqwest::blocking::get(&url).unwrap();
        assert_eq!(reply.status(), 200, "{url}");
        reply.bytes().unwrap().to_vec()
    };
    let (id, whole) = {
        let engine = Engine::new(cfg.clone()).unwrap();
        let st = engine.start(request(&src, Codec::H264)).unwrap();
        let base = serve_router(&engine, &st.job_id);
        assert!(!get(format!("{base}fallback/0.ts")).is_empty());
        (st.job_id, get(format!("{base}fallback/1.ts")))
    };
    // The engine stopped while the rung's segment was being written: it is left empty under
    // its final name (as a crash or a full disk leaves it).
    let on_disk = cfg.cache_dir.join(&id).join("fallback").join("seg_00001.ts");
    assert!(on_disk.is_file(), "{}", on_disk.display());
    std::fs::File::create(&on_disk).unwrap();
    let engine = Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, Codec::H264)).unwrap();
    assert_eq!(st.job_id, id);
    assert_ne!(st.state, JobState::Done, "the clip must outlast the first engine");
    let base = serve_router(&engine, &id);
    let again = get(format!("{base}fallback/1.ts"));
    assert!(!again.is_empty(), "an empty segment was served");
    let (a, b) = (dir.path().join("whole.ts"), dir.path().join("again.ts"));
    std::fs::write(&a, &whole).unwrap();
    std::fs::write(&b, &again).unwrap();
    assert_eq!(frame_count(&b), frame_count(&a), "the segment made again holds its frames");
    // The same frames at their times, within the contract's tick (one ffmpeg stamps them to
    // 0.1 ms, another to the millisecond).
    let (made, again) = (frame_times(&a), frame_times(&b));
    assert!(made.iter().zip(&again).all(|(x, y)| (x - y).abs() <= 0.0015), "{made:?}\n{again:?}");
}
