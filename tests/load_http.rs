//! HTTP load (issue 6): one in-process engine with 4 jobs (20 s 320x180 sources, 2 s segments,
//! all 4 encoding at once), served by the CLI's router (`jellyscale::server::router`, one job
//! per router, nested under `/j0` .. `/j3`) on 127.0.0.1:0, read by 50 concurrent HTTP clients
//! while the jobs encode. Each client reads its job's playlist and then every segment in order,
//! waiting on the encoder as a player does.
//!
//! Asserts: every response is 200 with a non-empty body, every client finishes, every job ends
//! `done`, and fairness: the slowest client's total time is within 4x of the median. Prints
//! requests/s, MB/s, p50/p99 latency per request and the process's peak RSS (VmHWM, which
//! includes the 50 client threads of this test; ffmpeg runs in its own processes).

mod common;

use common::abi::vm_field;

use jellyscale::{JobState, StreamRequest};
use std::time::{Duration, Instant};

const JOBS: usize = 4;
const CLIENTS: usize = 50;

fn pct(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

struct ClientResult {
    job: usize,
    total: Duration,
    latencies: Vec<Duration>,
    bytes: u64,
    errors: Vec<String>,
}

fn run_client(base: String, job: usize) -> ClientResult {
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(80)).build().unwrap();
    let mut r = ClientResult { job, total: Duration::ZERO, latencies: Vec::new(), bytes: 0, errors: Vec::new() };
    let began = Instant::now();
    let mut get = |name: &str| -> Option<Vec<u8>> {
        let t = Instant::now();
        let resp = client.get(format!("{base}{name}")).send();
        let result = match resp {
            Err(e) => Err(format!("{name}: {e}")),
            Ok(resp) => {
                let code = resp.status().as_u16();
                match resp.bytes() {
                    Err(e) => Err(format!("{name}: body: {e}")),
                    Ok(b) if code != 200 => Err(format!("{name}: HTTP {code}: {}", String::from_utf8_lossy(&b))),
                    Ok(b) if b.is_empty() => Err(format!("{name}: empty body")),
                    Ok(b) => Ok(b.to_vec()),
                }
            }
        };
        r.latencies.push(t.elapsed());
        match result {
            Ok(b) => {
                r.bytes += b.len() as u64;
                Some(b)
            }
            Err(e) => {
                r.errors.push(e);
                None
            }
        }
    };
    if let Some(playlist) = get("main.m3u8") {
        let playlist = String::from_utf8_lossy(&playlist).into_owned();
        let segments: Vec<&str> = playlist.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        let empty = segments.is_empty();
        for s in segments {
            get(s);
        }
        if empty {
            r.errors.push("playlist lists no segment".into());
        }
    }
    r.total = began.elapsed();
    r
}

#[test]
fn fifty_clients_read_four_encoding_jobs_fairly() {
    let dir = tempfile::tempdir().unwrap();
    // One generated clip hard-linked under 4 names: 4 sources, 4 distinct jobs.
    let first = common::clip(dir.path(), "clip0.mp4", 20.0, "320x180", &[]);
    let sources: Vec<_> = (0..JOBS)
        .map(|i| {
            if i == 0 {
                return first.clone();
            }
            let p = dir.path().join(format!("clip{i}.mp4"));
            std::fs::hard_link(&first, &p).unwrap();
            p
        })
        .collect();
    let mut config = common::config(dir.path(), 2);
    config.max_concurrent_jobs = JOBS;
    let engine = jellyscale::Engine::new(config).expect("engine");

    let ids: Vec<String> = sources
        .iter()
        .map(|s| {
            let req: StreamRequest = serde_json::from_value(serde_json::json!({ "input": s })).unwrap();
            engine.start(req).expect("start").job_id
        })
        .collect();
    let mut app = axum::Router::new();
    for (i, id) in ids.iter().enumerate() {
        app = app.nest(&format!("/j{i}"), jellyscale::server::router(engine.handle(), id.clone()));
    }
    let listener = engine.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let head = jellyscale::server::HEAD_TIMEOUT;
    let server = engine.runtime().spawn(jellyscale::server::serve(listener, app, head, std::future::pending()));

    let began = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let job = c % JOBS;
            let base = format!("http://{addr}/j{job}/");
            std::thread::spawn(move || run_client(base, job))
        })
        .collect();
    let mut results: Vec<ClientResult> = clients.into_iter().map(|h| h.join().expect("client thread")).collect();
    let wall = began.elapsed();
    let peak = vm_field("VmHWM:");

    // The last segment may land just before the finished file is verified: wait for that.
    let states: Vec<JobState> = ids
        .iter()
        .map(|id| engine.block_on(engine.job(id).unwrap().wait_terminal(Duration::from_secs(30))).state)
        .collect();
    server.abort();
    engine.shutdown();

    let requests: usize = results.iter().map(|r| r.latencies.len()).sum();
    let bytes: u64 = results.iter().map(|r| r.bytes).sum();
    let mut lat: Vec<Duration> = results.iter().flat_map(|r| r.latencies.iter().copied()).collect();
    lat.sort_unstable();
    results.sort_by_key(|r| r.total);
    let median = results[results.len() / 2].total;
    let slowest = results.last().unwrap();
    let fastest = &results[0];

    println!("load_http: {CLIENTS} clients over {JOBS} encoding jobs (20 s, 320x180 -> 640x360, 2 s segments)");
    println!(
        "{requests} requests, {:.1} MB in {wall:.1?}: {:.1} req/s, {:.2} MB/s",
        bytes as f64 / 1e6,
        requests as f64 / wall.as_secs_f64(),
        bytes as f64 / 1e6 / wall.as_secs_f64()
    );
    println!(
        "latency p50 {:.1?} p99 {:.1?} max {:.1?} (segment requests wait on the encoder)",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().unwrap()
    );
    println!(
        "client total: fastest {:.1?} (job {}), median {median:.1?}, slowest {:.1?} (job {}), ratio {:.2}",
        fastest.total,
        fastest.job,
        slowest.total,
        slowest.job,
        slowest.total.as_secs_f64() / median.as_secs_f64()
    );
    println!("job states at the end: {states:?}; peak RSS (VmHWM) {peak}");

    let errors: Vec<String> =
        results.iter().flat_map(|r| r.errors.iter().map(move |e| format!("job {}: {e}", r.job))).collect();
    assert!(
        errors.is_empty(),
        "{} failed requests, first ones:\n{}",
        errors.len(),
        errors[..errors.len().min(10)].join("\n")
    );
    assert!(states.iter().all(|s| *s == JobState::Done), "every job must finish: {states:?}");
    assert!(slowest.total <= median * 4, "unfair: slowest client {:?} vs median {median:?}", slowest.total);
}
