//! Builds `tests/c/ffi_test.c` against the real cdylib and runs it on a generated clip: once
//! natively, once under valgrind memcheck.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder holding the cdylib built with this test: `target/<profile>/deps`, beside the test
/// binary (`cargo test` rebuilds it there but does not always copy it up to `target/<profile>`).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("target/<profile>/deps").to_path_buf();
    if deps.join("libjellyscale.so").is_file() {
        deps
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug")
    }
}

fn make_clip(dir: &Path, seconds: u32) -> PathBuf {
    let clip = dir.join("clip.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440", "-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", "-shortest"])
        .arg(&clip)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg could not make the test clip");
    clip
}

fn build_c_test(out: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = lib_dir();
    assert!(lib.join("libjellyscale.so").is_file(), "no cdylib in {}", lib.display());
    let output = Command::new("gcc")
        .args(["-Wall", "-Wextra", "-Werror", "-std=c11", "-g"])
        .arg(format!("-I{}", root.join("include").display()))
        .arg(root.join("tests/c/ffi_test.c"))
        .arg(format!("-L{}", lib.display()))
        .args(["-ljellyscale", "-lpthread", "-o"])
        .arg(out)
        .output()
        .expect("gcc runs");
    assert!(output.status.success(), "gcc failed:\n{}", String::from_utf8_lossy(&output.stderr));
}

/// Runs the C test (optionally under a wrapper) and returns its output.
fn run(wrapper: &[&str], seconds: u32) -> (std::process::ExitStatus, String) {
    let tmp = tempfile::tempdir().unwrap();
    let exe = tmp.path().join("ffi_test");
    build_c_test(&exe);
    let clip = make_clip(tmp.path(), seconds);
    let cache = tmp.path().join("cache");
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(&exe);
            c
        }
        None => Command::new(&exe),
    };
    let output = cmd.arg(&clip).arg(&cache).env("LD_LIBRARY_PATH", lib_dir()).output().expect("the C test runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status, text)
}

#[test]
fn c_program_passes_every_check() {
    let (status, text) = run(&[], 8);
    println!("{text}");
    assert!(status.success(), "C test failed ({status}):\n{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}

#[test]
fn c_program_is_clean_under_valgrind() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "valgrind is required in CI");
        eprintln!("valgrind not installed: skipped");
        return;
    }
    // Only definite leaks and invalid accesses count: "possibly lost" / "still reachable"
    // blocks of Rust's runtime (threads winding down, the global log subscriber) are tolerated.
    let (status, text) = run(
        &[
            "valgrind",
            "--error-exitcode=3",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
        ],
        4,
    );
    println!("{text}");
    assert!(status.code() != Some(3), "valgrind found errors:\n{text}");
    assert!(status.success(), "C test failed under valgrind ({status}):\n{text}");
    assert!(text.contains("definitely lost: 0 bytes") || text.contains("All heap blocks were freed"), "{text}");
}
