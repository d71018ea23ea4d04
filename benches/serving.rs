//! Serving throughput of ready segments through the CLI's HTTP router
//! (`jellyscale::server::router`, the one `jellyscale serve` uses): a finished job (its segments
//! are byte ranges of the verified final file) read by 1 and by 50 concurrent HTTP clients for a
//! fixed time each, plus the playlist alone. Prints requests/s, MB/s, p50/p99 latency.
//!
//! `cargo bench --bench serving` (or `scripts/bench`). Not a test: nothing here asserts timing.
//! The clients run in this process (reqwest blocking, one thread each) on the same cores as the
//! server, so the figures are a floor for a dedicated server.

use jellyscale::{Backend, Config, Engine, JobState, StreamRequest};
use std::process::Command;
use std::time::{Duration, Instant};

const ROUND: Duration = Duration::from_secs(8);

fn pct(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// `clients` threads each GET `names` (from a different starting point) until `ROUND` is up.
fn round(base: &str, names: &[String], clients: usize) -> (usize, u64, Duration, Vec<Duration>, usize) {
    let began = Instant::now();
    let end = began + ROUND;
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let base = base.to_owned();
            let names = names.to_vec();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
                let (mut lat, mut bytes, mut errors) = (Vec::new(), 0u64, 0usize);
                let mut i = c * 7;
                while Instant::now() < end {
                    let name = &names[i % names.len()];
                    i += 1;
                    let t = Instant::now();
                    match client.get(format!("{base}{name}")).send() {
                        Ok(r) if r.status().as_u16() == 200 => match r.bytes() {
                            Ok(b) if !b.is_empty() => bytes += b.len() as u64,
                            _ => errors += 1,
                        },
                        _ => errors += 1,
                    }
                    lat.push(t.elapsed());
                }
                (lat, bytes, errors)
            })
        })
        .collect();
    let (mut lat, mut bytes, mut errors) = (Vec::new(), 0, 0);
    for w in workers {
        let (l, b, e) = w.join().unwrap();
        lat.extend(l);
        bytes += b;
        errors += e;
    }
    let wall = began.elapsed();
    lat.sort_unstable();
    (lat.len(), bytes, wall, lat, errors)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` runs benches without --bench: nothing to test here.
    }
    let tmp = tempfile::tempdir().unwrap();
    let clip = tmp.path().join("clip.mp4");
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .args(["testsrc2=size=320x180:rate=24", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"])
        .arg("-shortest")
        .arg(&clip)
        .status()
        .expect("ffmpeg runs")
        .success();
    assert!(ok, "cannot make the clip");
    let config = Config {
        cache_dir: tmp.path().join("cache"),
        output_dir: Some(tmp.path().join("out")),
        backend: Backend::Cpu,
        segment_seconds: 2,
        cpu_preset: "ultrafast".into(),
        ..Config::default()
    };
    let engine = Engine::new(config).expect("engine");
    let req: StreamRequest = serde_json::from_value(serde_json::json!({ "input": clip })).unwrap();
    let id = engine.start(req).expect("start").job_id;
    let t = Instant::now();
    let status = engine.block_on(engine.job(&id).unwrap().wait_terminal(Duration::from_secs(600)));
    assert_eq!(status.state, JobState::Done, "{status:?}");
    println!("60 s clip encoded (320x180 -> 640x360, ultrafast, 2 s segments) in {:.1?}", t.elapsed());

    let app = jellyscale::server::router(engine.handle(), id.clone());
    let listener = engine.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let server = engine.runtime().spawn(async move { axum::serve(listener, app).await });

    // The same router behind the CLI's own server (`jellyscale::server::serve`: TCP_NODELAY on
    // accepted sockets, which `axum::serve` leaves off, and a header-read timeout), to show
    // what Nagle's delay costs a lone client.
    let app2 = jellyscale::server::router(engine.handle(), id.clone());
    let listener2 = engine.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base2 = format!("http://{}/", listener2.local_addr().unwrap());
    let head = jellyscale::server::HEAD_TIMEOUT;
    let server2 = engine.runtime().spawn(jellyscale::server::serve(listener2, app2, head, std::future::pending()));

    let playlist = reqwest::blocking::get(format!("{base}main.m3u8")).unwrap().text().unwrap();
    let segments: Vec<String> =
        playlist.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect();
    let sizes: u64 = segments.len() as u64;
    println!(
        "\nServing benchmark: finished job, {sizes} segments, {} s per row, clients in this process (reqwest blocking)",
        ROUND.as_secs()
    );
    println!(
        "{:<34} {:>8} {:>9} {:>9} {:>10} {:>10} {:>7}",
        "row", "requests", "req/s", "MB/s", "p50", "p99", "errors"
    );
    let rows: [(&str, &str, Vec<String>, usize); 6] = [
        ("segments, 1 client", &base, segments.clone(), 1),
        ("segments, 50 clients", &base, segments.clone(), 50),
        ("main.m3u8, 1 client", &base, vec!["main.m3u8".to_owned()], 1),
        ("main.m3u8, 50 clients", &base, vec!["main.m3u8".to_owned()], 50),
        ("segments, 1 client, CLI server", &base2, segments.clone(), 1),
        ("segments, 50 clients, CLI server", &base2, segments.clone(), 50),
    ];
    for (label, base, names, clients) in rows {
        let (n, bytes, wall, lat, errors) = round(base, &names, clients);
        println!(
            "{label:<34} {n:>8} {:>9.1} {:>9.1} {:>10.2?} {:>10.2?} {errors:>7}",
            n as f64 / wall.as_secs_f64(),
            bytes as f64 / 1e6 / wall.as_secs_f64(),
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
    }
    let seg_bytes: u64 = segments
        .iter()
        .map(|s| reqwest::blocking::get(format!("{base}{s}")).unwrap().bytes().unwrap().len() as u64)
        .sum();
    println!("(mean segment size {:.0} kB)", seg_bytes as f64 / 1e3 / segments.len() as f64);
    server.abort();
    server2.abort();
    engine.shutdown();
}
