//! `jellyscale serve` read by real HLS clients (ffprobe, ffmpeg) over HTTP while it encodes.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `jellyscale serve` on the CPU backend with its folders inside `dir`, its stderr
/// discarded (a pipe nobody reads would block it).
fn spawn_serve(dir: &Path, src: &Path, listen: &str, extra: &[&str]) -> Child {
    spawn_serve_with(dir, src, listen, extra, Stdio::null())
}

fn spawn_serve_with(dir: &Path, src: &Path, listen: &str, extra: &[&str], stderr: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_jellyscale"))
        .args(["serve", "--listen", listen, "--backend", "cpu"])
        .args(extra)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .arg("--out")
        .arg(dir.join("out"))
        .arg(src)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// The master playlist URL `serve` prints first.
fn served_url(serve: &mut Child) -> String {
    let first = BufReader::new(serve.stdout.take().unwrap()).lines().next().unwrap().unwrap();
    first.strip_prefix("serving ").expect("serve prints its URL").to_owned()
}

fn get(url: &str) -> (u16, String) {
    let r = reqwest::blocking::get(url).expect("http get");
    let code = r.status().as_u16();
    (code, r.text().unwrap_or_default())
}

#[test]
fn hls_clients_read_the_whole_stream_while_it_encodes_and_ctrl_c_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "clip.mp4", 20.0, "320x180", &[]);
    let mut serve = spawn_serve(dir.path(), &src, "127.0.0.1:0", &["--segment-seconds", "2", "--preset", "slower"]);
    let url = served_url(&mut serve);
    let base = url.trim_end_matches("master.m3u8").to_owned();

    // The job leaves the queue at once; reading starts while it encodes.
    let status = loop {
        let (code, status) = get(&format!("{base}status"));
        assert_eq!(code, 200);
        let status: serde_json::Value = serde_json::from_str(&status).unwrap();
        assert_eq!(status["input"], "clip.mp4", "no server path to an HTTP client");
        if status["state"] != "queued" {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status["state"], "running", "the job must still be encoding when reading starts");
    assert!(status["segments_ready"].as_u64().unwrap() < status["segment_count"].as_u64().unwrap());
    let encoders = ffmpeg_children(serve.id(), dir.path());
    assert_eq!(encoders.len(), 1, "one ffmpeg encodes for the server");

    let (code, playlist) = get(&format!("{base}main.m3u8"));
    assert_eq!(code, 200);
    assert!(playlist.contains("#EXT-X-ENDLIST"), "full VOD playlist from the start");
    for bad in ["..%2F..%2Fetc%2Fpasswd", "../job.json", "99999.ts", "1.m4s", "abc.ts", "seg_00000.ts"] {
        assert_eq!(get(&format!("{base}{bad}")).0, 404, "{bad}");
    }

    // A real HLS client reads every segment of the first (upscaled) variant over HTTP, waiting
    // on the encoder as it goes.
    let started = Instant::now();
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i", &url, "-map", "0:p:0", "-c", "copy", "-f", "mpegts", "-y"])
        .arg(dir.path().join("copy.ts"))
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg over HLS: {}", String::from_utf8_lossy(&out.stderr));
    let probe = ffprobe_json(dir.path().join("copy.ts").to_str().unwrap(), "format=duration:stream=width,height");
    let duration: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((duration - 20.0).abs() < 0.5, "read {duration}s of 20s");
    let probe = ffprobe_json(&url, "format=duration");
    let listed: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!((listed - 20.0).abs() < 0.5, "ffprobe sees {listed}s");
    eprintln!("read the stream in {:?}", started.elapsed());

    // Ctrl-C: the server and its ffmpeg stop.
    let pid = serve.id();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(code) = serve.try_wait().unwrap() {
            assert!(code.success(), "serve exited with {code}");
            break;
        }
        assert!(Instant::now() < deadline, "serve did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(encoders.iter().all(|&p| !alive(p)), "ffmpeg outlived the server");
}

#[test]
fn a_request_at_40_s_is_served_long_before_a_linear_encode_would_reach_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "clip.mp4", 60.0, "320x180", &[]);
    let mut serve = spawn_serve(dir.path(), &src, "127.0.0.1:0", &["--segment-seconds", "2", "--preset", "slower"]);
    let base = served_url(&mut serve).trim_end_matches("master.m3u8").to_owned();
    let started = Instant::now();
    let r = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
        .get(format!("{base}20.ts"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.bytes().unwrap().len() > 1000);
    let seek_latency = started.elapsed();
    let (_, status) = get(&format!("{base}status"));
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let ranges = status["ready_ranges"].as_array().unwrap();
    // The encoder jumped: segment 20 exists while earlier ones do not.
    assert!(
        ranges.iter().any(|r| r[0].as_u64().unwrap() > 0 && r[0].as_u64().unwrap() <= 20),
        "segment 20 came from a linear encode: {ranges:?}"
    );
    // The viewer is at segment 20, which exists: at least its 2 s are buffered.
    assert!(status["realtime_margin_seconds"].as_f64().unwrap() >= 2.0, "{status}");
    let verdict = status["verdict"].as_str().unwrap_or("none");
    assert!(["ahead", "keeping_up", "falling_behind"].contains(&verdict), "{status}");
    eprintln!("segment at 40 s served after {seek_latency:?}; verdict {verdict}");
    serve.kill().unwrap();
    serve.wait().unwrap();
}

#[test]
fn serve_keeps_serving_when_its_stdout_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "clip.mp4", 4.0, "160x90", &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut serve = spawn_serve(dir.path(), &src, &format!("127.0.0.1:{port}"), &[]);
    // Whoever read our URL went away before we printed it (`jellyscale serve | head -1`).
    drop(serve.stdout.take());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(serve.try_wait().unwrap().is_none(), "serve died when its stdout closed");
        if let Ok(r) = reqwest::blocking::get(format!("http://127.0.0.1:{port}/status")) {
            assert_eq!(r.status().as_u16(), 200);
            break;
        }
        assert!(Instant::now() < deadline, "serve never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    serve.kill().unwrap();
    serve.wait().unwrap();
}

#[test]
fn serve_reports_what_it_changes_to_keep_viewers_playing() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "clip.mp4", 10.0, "320x180", &[]);
    let mut serve = spawn_serve_with(dir.path(), &src, "127.0.0.1:0", &["--segment-seconds", "2"], Stdio::piped());
    let base = served_url(&mut serve).trim_end_matches("master.m3u8").to_owned();
    let stderr = BufReader::new(serve.stderr.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // A viewer takes a segment of the fallback variant.
    assert_eq!(get(&format!("{base}fallback/0.ts")).0, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l == "adapting: viewer on a cheaper variant from segment 0") {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("serve never said it: {seen:?}"),
        }
    }
    serve.kill().unwrap();
    serve.wait().unwrap();
}

/// The CORS headers `serve` sends a page of another origin, for a GET and for the preflight
/// of hls.js's Range requests.
fn cors_of(base: &str) -> (Option<String>, u16, Option<String>) {
    let client = reqwest::blocking::Client::new();
    let get = client.get(format!("{base}master.m3u8")).header("Origin", "https://web.example").send().unwrap();
    let origin = get.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned());
    let pre = client
        .request(reqwest::Method::OPTIONS, format!("{base}0.ts"))
        .header("Origin", "https://web.example")
        .header("Access-Control-Request-Headers", "range")
        .send()
        .unwrap();
    let allowed = pre.headers().get("access-control-allow-headers").map(|v| v.to_str().unwrap().to_owned());
    (origin, pre.status().as_u16(), allowed)
}

#[test]
fn serve_answers_cors_as_configured_and_warns_when_it_listens_beyond_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let src = clip(dir.path(), "clip.mp4", 2.0, "160x90", &[]);
    for (extra, want) in
        [(vec![], Some("*")), (vec!["--allow-origin", "https://jf.example"], Some("https://jf.example"))]
    {
        let run = tempfile::tempdir().unwrap();
        let mut serve = spawn_serve(run.path(), &src, "127.0.0.1:0", &extra);
        let base = served_url(&mut serve).trim_end_matches("master.m3u8").to_owned();
        let (origin, preflight, allowed) = cors_of(&base);
        assert_eq!((origin.as_deref(), preflight, allowed.as_deref()), (want, 204, Some("Range")), "{extra:?}");
        serve.kill().unwrap();
        serve.wait().unwrap();
    }
    let run = tempfile::tempdir().unwrap();
    let mut serve = spawn_serve(run.path(), &src, "127.0.0.1:0", &["--allow-origin", ""]);
    let base = served_url(&mut serve).trim_end_matches("master.m3u8").to_owned();
    assert_eq!(cors_of(&base).0, None, "no CORS when none is allowed");
    serve.kill().unwrap();
    serve.wait().unwrap();

    let run = tempfile::tempdir().unwrap();
    let mut serve = spawn_serve_with(run.path(), &src, "0.0.0.0:0", &[], Stdio::piped());
    let _ = served_url(&mut serve);
    let stderr = BufReader::new(serve.stderr.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Bounded: the warning comes before the job's first report, or never.
    let warned = std::iter::from_fn(|| lines.recv_timeout(Duration::from_secs(30)).ok())
        .take(3)
        .any(|l| l.contains("is not loopback: anyone who reaches it can watch this video"));
    serve.kill().unwrap();
    serve.wait().unwrap();
    assert!(warned, "a warning for 0.0.0.0");
}

/// Reads what the server sends until it closes the connection; `None` when it is still open
/// after `within`.
fn closed_within(conn: &mut std::net::TcpStream, within: Duration) -> Option<Vec<u8>> {
    use std::io::Read;
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        conn.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
        match conn.read(&mut buf) {
            Ok(0) => return Some(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(got),
            Err(_) => return None,
        }
    }
}

#[test]
fn connections_that_never_finish_a_request_or_sit_idle_are_closed_and_a_long_wait_is_not_idle() {
    use std::io::Write;
    use std::net::TcpStream;
    let dir = tempfile::tempdir().unwrap();
    let src = common::media::matroska_ms(dir.path(), "film.mkv", 10, "160x90");
    // Every encoding run starts 3 s late: a segment request waits longer than the timeout.
    let slow = wrapped_tool(dir.path(), "ffmpeg", "case \"$*\" in *hls_time*) sleep 3;; esac");
    let real_ffprobe = which::which("ffprobe").unwrap();
    let cfg = jellyscale::Config { ffmpeg_path: Some(slow), ffprobe_path: Some(real_ffprobe), ..config(dir.path(), 2) };
    let engine = jellyscale::Engine::new(cfg).unwrap();
    let st = engine.start(request(&src, jellyscale::Codec::H264)).unwrap();
    let app = jellyscale::server::router(engine.handle(), st.job_id.clone());
    let listener = engine.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let head = Duration::from_secs(1);
    engine.runtime().spawn(jellyscale::server::serve(listener, app, head, std::future::pending()));

    // A request that waits for the encoder (3 s and more) is answered, not cut at 1 s.
    let waited = Instant::now();
    let mut asking = TcpStream::connect(addr).unwrap();
    asking.write_all(b"GET /0.ts HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
    // Connections that never finish a request: silent, a partial head, a head trickled slowly.
    let mut held: Vec<TcpStream> = (0..60).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for c in held.iter_mut().skip(30) {
        c.write_all(b"GET /master.m3u8 HTTP/1.1\r\nHost: t\r\n").unwrap();
    }
    let trickle = std::thread::spawn(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        let began = Instant::now();
        for byte in b"GET /master.m3u8 HTTP/1.1\r\nX-Slow: ".iter().chain(std::iter::repeat(&b'a')) {
            if c.write_all(&[*byte]).is_err() || began.elapsed() > Duration::from_secs(30) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        began.elapsed()
    });
    let answer = closed_within(&mut asking, Duration::from_secs(120)).expect("the answer never ended");
    let text = String::from_utf8_lossy(&answer[..answer.len().min(64)]).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(waited.elapsed() > 2 * head, "the segment came too soon to show a long wait: {:?}", waited.elapsed());
    // By now (seconds after they opened) every unfinished connection is closed.
    for (i, c) in held.iter_mut().enumerate() {
        assert!(closed_within(c, Duration::from_secs(20)).is_some(), "connection {i} is still open");
    }
    let trickled = trickle.join().unwrap();
    assert!(trickled < Duration::from_secs(20), "a trickled head kept its connection {trickled:?}");
    // A keep-alive connection idle after a whole request is closed too.
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /master.m3u8 HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let since = Instant::now();
    let reply = closed_within(&mut idle, Duration::from_secs(20)).expect("an idle keep-alive connection stayed open");
    assert!(String::from_utf8_lossy(&reply).starts_with("HTTP/1.1 200"));
    assert!(since.elapsed() >= head, "closed before it was idle for the timeout");
}
