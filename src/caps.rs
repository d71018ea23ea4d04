//! What the configured ffmpeg can really do here: finding the tools, one-frame test encodes per
//! backend (the only truthful check of a GPU), why a backend fails in words a person needs, the
//! choice `auto` makes and the encoder sessions it allows. A choice is cached per ffmpeg binary
//! (path, size, mtime) for a day, so a CLI start does not rerun the test encodes.

use crate::config::Backend;
use crate::error::{Error, Result};
use crate::plan::argv::push;
use crate::process::{Exit, Spawn};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What one ffmpeg binary is, as far as the command lines planned for it depend on it: found
/// once per binary (`ffmpeg -version`, remembered in the cache folder) and handed to the pure
/// planner, so every version-specific argument is chosen from here and snapshot-tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FfmpegCaps {
    /// The release, (major, minor): (5, 1) for Debian 12's 5.1.9, (7, 1) for jellyfin-ffmpeg
    /// 7.1.2-Jellyfin; a git build counts as the first release of its libavutil.
    pub version: (u32, u32),
}

impl FfmpegCaps {
    /// What is assumed of an ffmpeg whose version cannot be told: Jellyfin 10.11's.
    pub const ASSUMED: FfmpegCaps = FfmpegCaps { version: (7, 1) };

    /// Whether this ffmpeg is release `major.minor` or newer.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        self.version >= (major, minor)
    }

    /// Reads the version from `ffmpeg -version`'s text: the release on its first line
    /// (`ffmpeg version 7.1.5-0+deb13u1`, `n7.1`), else the major of libavutil (57: 5.x,
    /// 58: 6.x, 59: 7.x, 60: 8.x, 61: 9.x) for a git build (`ffmpeg version N-118000-g...`).
    pub fn from_version_text(text: &str) -> Option<FfmpegCaps> {
        let mut lines = text.lines();
        let first = lines.next()?.trim().strip_prefix("ffmpeg version ")?;
        let release = first.strip_prefix('n').unwrap_or(first);
        let mut parts = release.split(|c: char| !c.is_ascii_digit());
        let major = parts.next().and_then(|m| m.parse::<u32>().ok());
        let dot = release.chars().find(|c| !c.is_ascii_digit());
        if let (Some(major), Some('.')) = (major, dot) {
            let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
            return Some(FfmpegCaps { version: (major, minor) });
        }
        let lavu = lines.find_map(|l| l.trim().strip_prefix("libavutil"))?;
        let lavu: u32 = lavu.trim().split('.').next()?.trim().parse().ok()?;
        (lavu > 52).then(|| FfmpegCaps { version: (lavu - 52, 0) })
    }
}

/// What a backend check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendCheck {
    /// The backend.
    pub backend: Backend,
    /// Whether a one-frame test encode worked.
    pub works: bool,
    /// ffmpeg's reason when it did not.
    pub reason: Option<String>,
}

/// The GPU backends in order of preference for `auto`.
pub const GPU_BACKENDS: [Backend; 3] = [Backend::Nvenc, Backend::Qsv, Backend::Vaapi];

/// Encoder sessions a consumer NVIDIA GPU allows at once.
const NVENC_SESSIONS: usize = 8;

/// How long a test encode may take.
const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// How long `auto`'s choice is trusted for the same ffmpeg binary (a driver can change under it).
const CHOICE_TTL: Duration = Duration::from_secs(24 * 3600);

/// Finds a tool: the configured path, else `name` beside `beside` (ffprobe next to ffmpeg), else
/// on PATH; it must be an executable file.
pub fn resolve_tool(configured: Option<&Path>, name: &str, beside: Option<&Path>) -> Result<PathBuf> {
    let path = match configured {
        Some(p) => p.to_path_buf(),
        None => beside
            .and_then(|b| b.parent())
            .map(|dir| dir.join(name))
            .filter(|p| p.is_file())
            .or_else(|| which::which(name).ok())
            .ok_or_else(|| Error::ffmpeg(format!("{name} not found on PATH (install ffmpeg or set {name}_path)")))?,
    };
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(path),
        Ok(_) => Err(Error::ffmpeg(format!("{name} at {} is not an executable file", path.display()))),
        Err(e) => Err(Error::ffmpeg(format!("{name} at {}: {e}", path.display()))),
    }
}

/// Runs a one-frame test encode on `backend` with `ffmpeg`.
pub async fn check_backend(ffmpeg: &Path, backend: Backend, vaapi_device: &str) -> BackendCheck {
    let (works, reason) = try_ffmpeg(ffmpeg, capability_test_args(backend, vaapi_device)).await;
    BackendCheck { backend, works, reason }
}

/// Runs a one-frame HEVC test encode on a GPU backend's own encoder (`hevc_nvenc`, ...): a card
/// that encodes H.264 may lack HEVC. The CPU has no hardware encoder: not run, never works.
pub async fn check_hevc_hardware(ffmpeg: &Path, backend: Backend, vaapi_device: &str) -> BackendCheck {
    if matches!(backend, Backend::Cpu | Backend::Auto) {
        return BackendCheck { backend, works: false, reason: Some("no hardware encoder on the CPU backend".into()) };
    }
    let args = capability_test_args(backend, vaapi_device)
        .into_iter()
        .map(|a| match a.to_str().and_then(|s| s.strip_prefix("h264_")) {
            Some(family) => OsString::from(format!("hevc_{family}")),
            None => a,
        })
        .collect();
    let (works, reason) = try_ffmpeg(ffmpeg, args).await;
    BackendCheck { backend, works, reason }
}

/// Runs a one-frame libplacebo filter on a Vulkan device: can shader upscaling run here?
pub async fn check_shader_support(ffmpeg: &Path) -> (bool, Option<String>) {
    try_ffmpeg(ffmpeg, shader_test_args()).await
}

async fn try_ffmpeg(ffmpeg: &Path, args: Vec<OsString>) -> (bool, Option<String>) {
    match Spawn::new(ffmpeg, &args).output(TEST_TIMEOUT).await {
        Ok(out) if out.exit == Exit::Success => (true, None),
        Ok(out) => (false, Some(explain_backend_failure(&String::from_utf8_lossy(&out.stderr)))),
        Err(e) => (false, Some(format!("test encode: {e}"))),
    }
}

/// What is remembered of one ffmpeg binary: its caps, and `auto`'s choice.
#[derive(Debug, Serialize, Deserialize)]
struct Remembered {
    ffmpeg: PathBuf,
    size: u64,
    mtime_ns: u128,
    caps: Option<FfmpegCaps>,
    choice: Option<Choice>,
}

/// `auto`'s choice, made at `checked_at` for a VAAPI device.
#[derive(Debug, Serialize, Deserialize)]
struct Choice {
    vaapi_device: String,
    checked_at: u64,
    backend: Backend,
}

/// What `remembered` holds for this very ffmpeg binary (path, size and mtime), if anything.
fn recall(ffmpeg: &Path, remembered: &Path) -> Option<Remembered> {
    let (size, mtime_ns) = stamp(ffmpeg)?;
    let r = serde_json::from_slice::<Remembered>(&std::fs::read(remembered).ok()?).ok()?;
    (r.ffmpeg == ffmpeg && (r.size, r.mtime_ns) == (size, mtime_ns)).then_some(r)
}

/// Changes what `remembered` holds for this ffmpeg binary (what it held for another is
/// dropped). Only a speed-up: a file that cannot be written is found out again next time.
fn remember(ffmpeg: &Path, remembered: &Path, change: impl FnOnce(&mut Remembered)) {
    let Some((size, mtime_ns)) = stamp(ffmpeg) else { return };
    let mut r = recall(ffmpeg, remembered).unwrap_or(Remembered {
        ffmpeg: ffmpeg.to_path_buf(),
        size,
        mtime_ns,
        caps: None,
        choice: None,
    });
    change(&mut r);
    if let Ok(bytes) = serde_json::to_vec(&r) {
        let _ = crate::store::write_atomic(remembered, &bytes);
    }
}

/// The caps of `ffmpeg`: as remembered for this binary in `remembered`, else found by running
/// `ffmpeg -version` (and remembered). An ffmpeg whose version cannot be told (a wrapper that
/// prints something else) is planned for as [`FfmpegCaps::ASSUMED`], and asked again next time.
pub async fn ffmpeg_caps(ffmpeg: &Path, remembered: Option<&Path>) -> FfmpegCaps {
    if let Some(caps) = remembered.and_then(|r| recall(ffmpeg, r)).and_then(|r| r.caps) {
        return caps;
    }
    let args = [OsString::from("-hide_banner"), OsString::from("-version")];
    let found = match Spawn::new(ffmpeg, &args).output(TEST_TIMEOUT).await {
        Ok(out) => FfmpegCaps::from_version_text(&String::from_utf8_lossy(&out.stdout)),
        Err(_) => None,
    };
    match found {
        Some(caps) => {
            tracing::info!("ffmpeg {}.{} at {}", caps.version.0, caps.version.1, ffmpeg.display());
            if let Some(r) = remembered {
                remember(ffmpeg, r, |m| m.caps = Some(caps));
            }
            caps
        }
        None => {
            let a = FfmpegCaps::ASSUMED.version;
            tracing::warn!("cannot tell the version of {}: planning for ffmpeg {}.{}", ffmpeg.display(), a.0, a.1);
            FfmpegCaps::ASSUMED
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The stamp of an ffmpeg binary: its size and mtime (ns).
fn stamp(ffmpeg: &Path) -> Option<(u64, u128)> {
    let m = std::fs::metadata(ffmpeg).ok()?;
    let mtime = m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
    Some((m.len(), mtime))
}

/// What `auto` picked for this very ffmpeg binary less than a day ago, if anything.
pub fn remembered_backend(ffmpeg: &Path, vaapi_device: &str, remembered: &Path) -> Option<Backend> {
    let c = recall(ffmpeg, remembered)?.choice?;
    let fresh = now_secs().saturating_sub(c.checked_at) < CHOICE_TTL.as_secs();
    (fresh && c.vaapi_device == vaapi_device).then_some(c.backend)
}

/// The backend `auto` picks: the first GPU backend whose test encode works, else the CPU; the
/// choice is read from and written to `remembered` (a file in the cache folder) for this ffmpeg.
pub async fn choose_backend(ffmpeg: &Path, vaapi_device: &str, remembered: &Path) -> Backend {
    if let Some(backend) = remembered_backend(ffmpeg, vaapi_device, remembered) {
        tracing::info!("backend {backend:?}, as tested for this ffmpeg before");
        return backend;
    }
    let mut backend = Backend::Cpu;
    for b in GPU_BACKENDS {
        let check = check_backend(ffmpeg, b, vaapi_device).await;
        if check.works {
            backend = b;
            break;
        }
        tracing::info!("backend {b:?} unusable: {}", check.reason.unwrap_or_default());
    }
    if backend == Backend::Cpu {
        tracing::info!("no GPU backend works here; using the CPU");
    }
    remember(ffmpeg, remembered, |r| {
        r.choice = Some(Choice { vaapi_device: vaapi_device.to_owned(), checked_at: now_secs(), backend })
    });
    backend
}

/// Encoder slots for upscaled jobs: consumer NVIDIA cards open at most 8 encoder sessions at
/// once, and one job holds one.
pub fn encoder_slots(backend: Backend, max_concurrent_jobs: usize) -> usize {
    if backend == Backend::Nvenc {
        max_concurrent_jobs.min(NVENC_SESSIONS)
    } else {
        max_concurrent_jobs
    }
}

/// ffmpeg arguments for a one-frame test encode on a backend: the truthful capability probe.
pub fn capability_test_args(backend: Backend, vaapi_device: &str) -> Vec<OsString> {
    let mut a = Vec::new();
    push(&mut a, &["-hide_banner", "-nostdin", "-loglevel", "error"]);
    let (init, filter, enc): (Vec<String>, &str, &str) = match backend {
        Backend::Nvenc => (
            vec!["-init_hw_device".into(), "cuda=gpu".into(), "-filter_hw_device".into(), "gpu".into()],
            "format=nv12,hwupload_cuda,scale_cuda=256:144",
            "h264_nvenc",
        ),
        Backend::Vaapi => (
            vec!["-init_hw_device".into(), format!("vaapi=va:{vaapi_device}"), "-filter_hw_device".into(), "va".into()],
            "format=nv12,hwupload,scale_vaapi=w=256:h=144",
            "h264_vaapi",
        ),
        Backend::Qsv => (
            vec!["-init_hw_device".into(), "qsv=qs".into(), "-filter_hw_device".into(), "qs".into()],
            "format=nv12,hwupload=extra_hw_frames=16,vpp_qsv=w=256:h=144",
            "h264_qsv",
        ),
        Backend::Cpu | Backend::Auto => (vec![], "scale=256:144:flags=lanczos", "libx264"),
    };
    a.extend(init.into_iter().map(OsString::from));
    push(
        &mut a,
        &[
            "-f",
            "lavfi",
            "-i",
            "color=black:size=128x72:rate=1",
            "-frames:v",
            "1",
            "-vf",
            filter,
            "-c:v",
            enc,
            "-f",
            "null",
            "-",
        ],
    );
    a
}

/// ffmpeg arguments for a one-frame libplacebo run on a Vulkan device: can shaders run here?
pub fn shader_test_args() -> Vec<OsString> {
    let mut a = Vec::new();
    push(&mut a, &["-hide_banner", "-nostdin", "-loglevel", "error", "-init_hw_device", "vulkan=vk"]);
    push(&mut a, &["-filter_hw_device", "vk", "-f", "lavfi", "-i", "color=black:size=64x36:rate=1", "-frames:v", "1"]);
    push(
        &mut a,
        &["-vf", "format=yuv420p,hwupload,libplacebo=w=128:h=72,hwdownload,format=yuv420p", "-f", "null", "-"],
    );
    a
}

/// Turns ffmpeg's error output from a failed test encode into the reason a person needs.
pub fn explain_backend_failure(stderr: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("Cannot load libcuda", "no CUDA driver or NVIDIA GPU (libcuda.so.1 not loadable)"),
        ("no CUDA-capable device", "no CUDA device"),
        ("CUDA_ERROR_NO_DEVICE", "no CUDA device"),
        ("Driver does not support the required nvenc API version", "NVIDIA driver too old for this ffmpeg's NVENC"),
        ("incompatible client key", "NVENC encoder session limit reached"),
        ("OpenEncodeSessionEx failed: out of memory", "NVENC encoder session limit reached or GPU out of memory"),
        ("No VA display found", "no VAAPI device (render node missing or not a GPU)"),
        ("vaInitialize failed", "VAAPI driver failed to initialise"),
        ("Generic error in an external library", "no working Intel Quick Sync device or driver"),
        ("Unknown encoder", "this ffmpeg lacks the encoder"),
        ("No such filter", "this ffmpeg lacks the filter"),
    ];
    KNOWN
        .iter()
        .find(|(needle, _)| stderr.contains(needle))
        .map(|(_, why)| why.to_string())
        .unwrap_or_else(|| stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("failed").trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_failures_are_explained() {
        let cuda = "[AVHWDeviceContext @ 0x1] Cannot load libcuda.so.1\nDevice creation failed: -1.";
        assert!(explain_backend_failure(cuda).contains("no CUDA driver"));
        assert!(explain_backend_failure("x\nNo VA display found for device /dev/dri/renderD128.")
            .contains("no VAAPI device"));
        assert!(explain_backend_failure("OpenEncodeSessionEx failed: incompatible client key (21)")
            .contains("session limit"));
        assert_eq!(explain_backend_failure("\nsomething new\n"), "something new");
    }

    #[test]
    fn the_version_is_read_from_releases_and_git_builds() {
        let v = |text: &str| FfmpegCaps::from_version_text(text).map(|c| c.version);
        assert_eq!(v("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers"), Some((5, 1)));
        assert_eq!(v("ffmpeg version 7.1.2-Jellyfin Copyright (c) 2000-2025"), Some((7, 1)));
        assert_eq!(v("ffmpeg version n8.1 Copyright"), Some((8, 1)));
        assert_eq!(v("ffmpeg version 9.0.2-4 Copyright"), Some((9, 0)));
        let git =
            "ffmpeg version N-118000-g0123abc Copyright\nbuilt with gcc\nlibavutil      60.  3.100 / 60.  3.100\n";
        assert_eq!(v(git), Some((8, 0)));
        assert_eq!(v("ffmpeg version N-1-gabc\n"), None, "a git build without its library versions");
        assert_eq!(v("rffmpeg: no host available"), None);
        assert!(FfmpegCaps { version: (7, 1) }.at_least(7, 0) && !FfmpegCaps { version: (6, 1) }.at_least(7, 0));
    }

    #[test]
    fn caps_are_remembered_per_ffmpeg_binary() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, file) = (dir.path().join("ffmpeg-a"), dir.path().join("ffmpeg-b"), dir.path().join(".caps.json"));
        std::fs::write(&a, "a").unwrap();
        std::fs::write(&b, "b").unwrap();
        let caps = FfmpegCaps { version: (9, 0) };
        remember(&a, &file, |r| r.caps = Some(caps));
        remember(&a, &file, |r| {
            r.choice = Some(Choice { vaapi_device: "/dev/x".into(), checked_at: now_secs(), backend: Backend::Vaapi })
        });
        let r = recall(&a, &file).unwrap();
        assert_eq!((r.caps, remembered_backend(&a, "/dev/x", &file)), (Some(caps), Some(Backend::Vaapi)));
        assert!(recall(&b, &file).is_none(), "another binary's caps are not this one's");
        std::fs::write(&a, "a rebuilt").unwrap();
        assert!(recall(&a, &file).is_none(), "a changed binary is asked again");
    }

    #[test]
    fn nvenc_caps_encoder_slots() {
        assert_eq!(encoder_slots(Backend::Nvenc, 20), 8);
        assert_eq!(encoder_slots(Backend::Cpu, 20), 20);
    }
}
