//! The committed C header matches the Rust exports: every `#[no_mangle]` function of `src/ffi`
//! is declared, every status has its `JELLYSCALE_STATUS_*` constant with its value, and the
//! header compiles on its own as C11 and C++. (`scripts/test` also fails when the header that
//! `build.rs` regenerates differs from the committed one.)

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn header() -> String {
    std::fs::read_to_string(root().join("include/jellyscale.h")).expect("include/jellyscale.h")
}

/// Names of the exported functions, read from the sources.
fn exported_functions() -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root().join("src/ffi")).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let mut exported = false;
        for line in text.lines().map(str::trim) {
            if line == "#[no_mangle]" || line == "#[unsafe(no_mangle)]" {
                exported = true;
            } else if exported && line.contains("extern \"C\" fn ") {
                let name = line.split("fn ").nth(1).unwrap().split('(').next().unwrap().trim();
                names.push(name.to_owned());
                exported = false;
            }
        }
    }
    names.sort();
    names
}

#[test]
fn header_declares_every_exported_function() {
    let header = header();
    let names = exported_functions();
    assert!(names.len() >= 11, "found only {names:?}");
    for name in &names {
        assert!(header.contains(&format!(" {name}(")), "{name} is missing from include/jellyscale.h");
    }
    for typedef in ["JellyscaleEngine", "JellyscaleSegmentCallback", "JellyscaleLogCallback", "JellyscaleStatus"] {
        assert!(header.contains(typedef), "{typedef} is missing");
    }
}

#[test]
fn header_has_every_status_value() {
    let header = header();
    for (name, value) in [
        ("OK", 0),
        ("INVALID_ARGUMENT", 1),
        ("NOT_FOUND", 2),
        ("BAD_INPUT", 3),
        ("FFMPEG", 4),
        ("BUSY", 5),
        ("IO", 6),
        ("TIMEOUT", 7),
        ("CANCELLED", 8),
        ("SHUTTING_DOWN", 9),
        ("INTERNAL", 99),
    ] {
        let line = format!("JELLYSCALE_STATUS_{name} = {value},");
        assert!(header.contains(&line), "missing `{line}`");
    }
}

#[test]
fn every_function_states_ownership() {
    // Each exported function's doc comment in the header says who owns what.
    let header = header();
    for name in exported_functions() {
        let at = header.find(&format!(" {name}(")).unwrap();
        let doc_start = header[..at].rfind("/*").unwrap();
        let doc = &header[doc_start..at];
        let states = doc.contains("Ownership:") || name == "jellyscale_abi_version";
        assert!(states, "{name} has no `Ownership:` line in its doc comment");
    }
}

#[test]
fn header_compiles_alone_as_c_and_cpp() {
    let include = format!("-I{}", root().join("include").display());
    for (compiler, args) in [
        ("gcc", &["-x", "c", "-std=c11"][..]),
        ("gcc", &["-x", "c", "-std=c99"][..]),
        ("g++", &["-x", "c++", "-std=c++17"][..]),
    ] {
        if Command::new(compiler).arg("--version").output().is_err() {
            eprintln!("{compiler} not installed: skipped");
            continue;
        }
        let out = Command::new(compiler)
            .args(args)
            .args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only", &include, "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().unwrap().write_all(b"#include \"jellyscale.h\"\nint main(void) { return 0; }\n")?;
                child.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success(), "{compiler} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
