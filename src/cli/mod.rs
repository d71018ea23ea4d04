//! Command-line parsing and the subcommands.

/// Prints a line to stdout. A reader that went away (`jellyscale serve | head -1`) must not
/// bring a server down, so write errors are ignored rather than panicking like `println!`.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `say!` for stderr.
macro_rules! tell {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod sample;
mod watch;

use clap::{Args, Parser, Subcommand};
use jellyscale::caps::{check_backend, check_shader_support, ffmpeg_caps, resolve_tool, GPU_BACKENDS};
use jellyscale::plan::display_args;
use jellyscale::{Backend, Codec, Config, Engine, Error, StreamRequest};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "jellyscale", version, about = "Real-time upscaling: HLS while encoding, a verified final file")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Upscale a file to the end and print the finished file's path.
    Upscale {
        /// Source video.
        input: PathBuf,
        #[command(flatten)]
        opts: JobOpts,
        /// One JSON status line per update instead of a progress bar.
        #[arg(long)]
        json: bool,
    },
    /// Start a job and serve it over HTTP as HLS while it encodes (a sample clip when no input).
    Serve {
        /// Source video; a generated sample when absent.
        input: Option<PathBuf>,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8097")]
        listen: String,
        /// The origin whose pages may play the stream (CORS); empty for none.
        #[arg(long, default_value = "*")]
        allow_origin: String,
        #[command(flatten)]
        opts: JobOpts,
    },
    /// Print what ffprobe finds in a file, as JSON.
    Probe {
        /// Source video.
        input: PathBuf,
        #[command(flatten)]
        opts: EngineOpts,
    },
    /// Show what the configured ffmpeg can do and which backends really work.
    Caps {
        #[command(flatten)]
        opts: EngineOpts,
    },
    /// Print the ffmpeg command a job would run.
    Plan {
        /// Source video.
        input: PathBuf,
        #[command(flatten)]
        opts: JobOpts,
        /// First segment of the run.
        #[arg(long, default_value_t = 0)]
        start_segment: u32,
    },
}

#[derive(Args, Clone)]
struct EngineOpts {
    /// Working folder for segments and manifests.
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// ffmpeg binary (default: found on PATH).
    #[arg(long)]
    ffmpeg: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct JobOpts {
    #[command(flatten)]
    engine: EngineOpts,
    /// Folder for the finished file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Scale factor.
    #[arg(long, conflicts_with = "height")]
    scale: Option<u32>,
    /// Output height (the source is scaled up to it).
    #[arg(long)]
    height: Option<u32>,
    /// Output codec.
    #[arg(long, value_enum, default_value_t = Codec::H264)]
    codec: Codec,
    /// Encoder backend.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    backend: Backend,
    /// Segment length in seconds.
    #[arg(long, default_value_t = 4)]
    segment_seconds: u32,
    /// x264/x265 preset for the CPU backend.
    #[arg(long, default_value = "veryfast")]
    preset: String,
    /// The player decodes the source's H.264 as it is: the fallback variant is then a copy of
    /// it, with every variant's segments cut at the source's keyframes (the file is read once
    /// to find them first).
    #[arg(long)]
    copy_fallback: bool,
}

impl EngineOpts {
    fn config(&self) -> Config {
        let mut c = Config::default();
        if let Some(d) = &self.cache_dir {
            c.cache_dir = d.clone();
        }
        c.ffmpeg_path = self.ffmpeg.clone();
        c
    }
}

impl JobOpts {
    fn config(&self) -> Config {
        let mut c = self.engine.config();
        c.output_dir = self.out.clone();
        c.backend = self.backend;
        c.segment_seconds = self.segment_seconds;
        c.cpu_preset = self.preset.clone();
        c.max_concurrent_jobs = 1;
        c
    }

    fn request(&self, input: PathBuf) -> StreamRequest {
        StreamRequest {
            input,
            codec: self.codec,
            // An explicit height means "scale up to exactly this".
            scale: if self.height.is_some() { Some(8) } else { self.scale },
            max_height: self.height,
            audio_stream: None,
            start_segment: None,
            start_seconds: None,
            media: None,
            copy_fallback: self.copy_fallback,
        }
    }
}

/// Runs the CLI; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("JELLYSCALE_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match execute(cli.command) {
        Ok(()) => 0,
        Err(e) => {
            tell!("error: {}", e.message);
            1
        }
    }
}

fn execute(command: Command) -> Result<(), Error> {
    match command {
        Command::Upscale { input, opts, json } => {
            let engine = Engine::new(opts.config())?;
            let status = engine.start(opts.request(input))?;
            let job = engine.job(&status.job_id)?;
            let done = watch::follow(&engine, &job, json)?;
            // The path's own bytes, so a script can open it whatever its name's encoding.
            use std::io::Write as _;
            use std::os::unix::ffi::OsStrExt;
            let mut line = done.as_os_str().as_bytes().to_vec();
            line.push(b'\n');
            let _ = std::io::stdout().write_all(&line);
            Ok(())
        }
        Command::Serve { input, listen, allow_origin, opts } => {
            let mut config = opts.config();
            config.max_concurrent_jobs = 2;
            let engine = Engine::new(config)?;
            let input = match input {
                Some(i) => i,
                None => sample::generate(&engine)?,
            };
            serve(&engine, opts.request(input), &listen, &allow_origin)
        }
        Command::Probe { input, opts } => {
            let c = opts.config();
            let ffmpeg = resolve_tool(c.ffmpeg_path.as_deref(), "ffmpeg", None)?;
            let ffprobe = resolve_tool(c.ffprobe_path.as_deref(), "ffprobe", Some(&ffmpeg))?;
            let info = runtime()?.block_on(jellyscale::probe::probe(&ffprobe, &input))?;
            say!("{}", serde_json::to_string_pretty(&info).unwrap_or_default());
            Ok(())
        }
        Command::Caps { opts } => caps(&opts),
        Command::Plan { input, opts, start_segment } => {
            let config = opts.config();
            let plan = runtime()?.block_on(jellyscale::engine::plan_offline(&config, &opts.request(input)))?;
            let ffmpeg = resolve_tool(config.ffmpeg_path.as_deref(), "ffmpeg", None)?;
            let first = start_segment.min(plan.timeline.count() - 1);
            tell!("# writes its segments into the current folder; backend {:?}", plan.backend);
            say!("{}", display_args(&ffmpeg, &plan.encode_args(first, None, None)));
            Ok(())
        }
    }
}

fn serve(engine: &Engine, request: StreamRequest, listen: &str, allow_origin: &str) -> Result<(), Error> {
    let allow_origin = match allow_origin {
        "" => None,
        origin => Some(
            axum::http::HeaderValue::from_str(origin)
                .map_err(|_| Error::invalid(format!("--allow-origin {origin:?} is not a header value")))?,
        ),
    };
    let status = engine.start(request)?;
    let handle = engine.handle();
    engine.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::invalid(format!("cannot listen on {listen}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| Error::invalid(e.to_string()))?;
        say!("serving http://{addr}/master.m3u8");
        if !addr.ip().is_loopback() {
            tell!("warning: {addr} is not loopback: anyone who reaches it can watch this video");
        }
        say!("play it with: mpv http://{addr}/master.m3u8");
        tell!(
            "upscaling {} to {}x{} {} ({} segments); Ctrl-C stops",
            status.input.display(),
            status.width,
            status.height,
            status.codec,
            status.segment_count
        );
        let app = jellyscale::server::router_with(handle.clone(), status.job_id.clone(), allow_origin);
        let job = handle.job(&status.job_id)?;
        let reporter = tokio::spawn(async move {
            // What the job changes to keep its viewers playing is news to whoever runs it.
            let mut rx = job.subscribe();
            let mut told: Option<String> = None;
            let done = loop {
                let st = job.status();
                let seen = told.as_ref().and_then(|t| st.adaptations.iter().rposition(|a| a == t)).map_or(0, |i| i + 1);
                for a in &st.adaptations[seen..] {
                    tell!("adapting: {a}");
                }
                told = st.adaptations.last().cloned().or(told);
                if st.state.is_terminal() || rx.changed().await.is_err() {
                    break job.status();
                }
            };
            match done.final_path {
                Some(p) => tell!("finished file: {}", p.display()),
                None => tell!("job ended: {:?} {}", done.state, done.error.map(|e| e.message).unwrap_or_default()),
            }
        });
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
            tell!("stopping");
        };
        jellyscale::server::serve(listener, app, jellyscale::server::HEAD_TIMEOUT, stop).await;
        reporter.abort();
        Ok(())
    })
}

/// A small runtime for the commands that need no engine.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(jellyscale::ErrorCode::Internal, format!("cannot start runtime: {e}")))
}

fn caps(opts: &EngineOpts) -> Result<(), Error> {
    let config = opts.config();
    let ffmpeg = resolve_tool(config.ffmpeg_path.as_deref(), "ffmpeg", None)?;
    let rt = runtime()?;
    let list = |flag: &str| -> String {
        std::process::Command::new(&ffmpeg)
            .args(["-hide_banner", flag])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let encoders = list("-encoders");
    let filters = list("-filters");
    let hwaccels = list("-hwaccels");
    let has = |text: &str, name: &str| text.split_whitespace().any(|w| w == name);
    let wanted_encoders =
        ["libx264", "libx265", "h264_nvenc", "hevc_nvenc", "h264_vaapi", "hevc_vaapi", "h264_qsv", "hevc_qsv"];
    let wanted_filters = ["scale", "scale_cuda", "scale_npp", "scale_vaapi", "vpp_qsv", "libplacebo"];
    let mut checks = vec![rt.block_on(check_backend(&ffmpeg, Backend::Cpu, &config.vaapi_device))];
    for b in GPU_BACKENDS {
        checks.push(rt.block_on(check_backend(&ffmpeg, b, &config.vaapi_device)));
    }
    let (shader_works, shader_reason) = rt.block_on(check_shader_support(&ffmpeg));
    let version = rt.block_on(ffmpeg_caps(&ffmpeg, None)).version;
    let report = serde_json::json!({
        "ffmpeg": ffmpeg,
        "ffmpeg_version": format!("{}.{}", version.0, version.1),
        "encoders": wanted_encoders.iter().map(|e| (e.to_string(), serde_json::Value::Bool(has(&encoders, e)))).collect::<serde_json::Map<_, _>>(),
        "filters": wanted_filters.iter().map(|f| (f.to_string(), serde_json::Value::Bool(has(&filters, f)))).collect::<serde_json::Map<_, _>>(),
        "hwaccels": hwaccels.lines().skip(1).map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>(),
        "backends": checks,
        "shader_upscaling": { "works": shader_works, "reason": shader_reason },
        "auto_picks": checks.iter().skip(1).find(|c| c.works).map_or(Backend::Cpu, |c| c.backend),
    });
    say!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    Ok(())
}
