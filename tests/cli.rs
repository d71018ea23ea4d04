//! The `jellyscale` command line: exit codes, one-line errors, JSON outputs.

mod common;

use common::*;
use std::process::Command;

fn jellyscale(args: &[&str], cache: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jellyscale")).args(args).arg("--cache-dir").arg(cache).output().unwrap()
}

#[test]
fn caps_reports_every_backend_truthfully() {
    let dir = tempfile::tempdir().unwrap();
    let out = jellyscale(&["caps"], dir.path());
    assert!(out.status.success());
    let caps: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(caps["encoders"]["libx264"], true);
    // The version the planner follows is the one ffmpeg itself prints (Debian: "5.1.9-...").
    let printed = Command::new(ffmpeg()).arg("-version").output().unwrap().stdout;
    let version = caps["ffmpeg_version"].as_str().unwrap();
    assert!(String::from_utf8_lossy(&printed).starts_with(&format!("ffmpeg version {version}.")), "{version}");
    let backends = caps["backends"].as_array().unwrap();
    assert_eq!(backends.len(), 4);
    assert_eq!(backends[0]["backend"], "cpu");
    assert_eq!(backends[0]["works"], true);
    for b in &backends[1..] {
        // Where a GPU backend does not work, ffmpeg's reason is given.
        assert!(b["works"] == true || b["reason"].as_str().is_some_and(|r| !r.is_empty()), "{b}");
    }
    let picks = caps["auto_picks"].as_str().unwrap();
    assert!(backends.iter().any(|b| b["backend"] == picks && b["works"] == true));
}

#[test]
fn upscale_prints_the_final_path_and_failures_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "in put.mp4", 2.0, "160x90", &[]);
    let out = jellyscale(&["upscale", src.to_str().unwrap(), "--backend", "cpu", "--json"], &dir.path().join("c"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines: Vec<&str> = text.lines().collect();
    let path = lines.pop().unwrap();
    assert!(std::path::Path::new(path).is_file(), "{path}");
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["state"], "done");
    for key in ["fps", "speed", "position_seconds", "eta_seconds", "progress"] {
        assert!(last.get(key).is_some(), "status lacks {key}");
    }

    let missing = dir.path().join("nope.mkv");
    let out = jellyscale(&["upscale", missing.to_str().unwrap(), "--backend", "cpu"], &dir.path().join("c2"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: input not found"), "{err}");
}

#[test]
fn probe_and_plan_print_what_they_found() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "-dash.mp4", 2.0, "160x90", &[]);
    let out = jellyscale(&["probe", src.to_str().unwrap()], &dir.path().join("c"));
    assert!(out.status.success());
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((info["width"].as_u64(), info["height"].as_u64()), (Some(160), Some(90)));
    let out =
        jellyscale(&["plan", src.to_str().unwrap(), "--backend", "cpu", "--height", "360"], &dir.path().join("c"));
    assert!(out.status.success());
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(line.contains("scale=640:360:flags=lanczos"), "{line}");
    assert!(
        line.contains(&format!("-i file:{} ", src.display())),
        "a leading dash stays part of one file: URL: {line}"
    );
}

#[test]
fn plan_with_copy_fallback_forces_keyframes_onto_the_sources() {
    let dir = tempfile::tempdir().unwrap();
    let keyframes = ["-force_key_frames", "0,1.5,3.75,6", "-g", "1000", "-sc_threshold", "0"];
    let src = clip(dir.path(), "kf.mp4", 8.0, "160x90", &keyframes);
    let plan = |extra: &[&str]| {
        let mut args = vec!["plan", src.to_str().unwrap(), "--backend", "cpu", "--segment-seconds", "2"];
        args.extend(extra);
        let out = jellyscale(&args, &dir.path().join("c"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let copying = plan(&["--copy-fallback"]);
    assert!(copying.contains("-force_key_frames 1.500000,3.750000,6.000000 "), "{copying}");
    let fixed = plan(&[]);
    assert!(fixed.contains("-force_key_frames 1,3,5,7 "), "fixed timeline without the flag: {fixed}");
}

#[test]
fn a_source_whose_name_is_not_utf8_is_upscaled_and_its_file_found_again() {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let dir = tempfile::tempdir().unwrap();
    let made = common::media::matroska_ms(dir.path(), "made.mkv", 3, "160x90");
    // A Latin-1 name, as old libraries hold them: "Café.mkv" with é as the byte 0xE9.
    let src = dir.path().join(std::ffi::OsString::from_vec(b"Caf\xe9.mkv".to_vec()));
    std::fs::rename(&made, &src).unwrap();
    let cache = dir.path().join("c");
    let upscale = || {
        let out = Command::new(env!("CARGO_BIN_EXE_jellyscale"))
            .args(["upscale", "--backend", "cpu", "--cache-dir"])
            .arg(&cache)
            .arg(&src)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let line = out.stdout.strip_suffix(b"\n").unwrap().to_vec();
        std::path::PathBuf::from(std::ffi::OsString::from_vec(line))
    };
    let saved = upscale();
    assert!(saved.file_name().unwrap().as_bytes().starts_with(b"Caf\xe9 - Upscaled "), "{}", saved.display());
    assert_same_frames(&src, &saved);
    // A second run finds the job by its manifest, which kept the name's bytes.
    let modified = std::fs::metadata(&saved).unwrap().modified().unwrap();
    assert_eq!(upscale(), saved);
    assert_eq!(std::fs::metadata(&saved).unwrap().modified().unwrap(), modified, "made again instead of reused");
}
