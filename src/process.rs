//! Supervising one child process (ffmpeg) so it can never outlive its job.
//!
//! The child leads its own process group, so a kill reaches anything it starts; it gets
//! `SIGKILL` if the thread that spawned it dies (`PR_SET_PDEATHSIG`: spawn from the engine's
//! long-lived runtime threads); a watchdog in its group kills the whole group once this process
//! is gone, however it ended (`PR_SET_PDEATHSIG` reaches the direct child only: a wrapper
//! script that runs ffmpeg without `exec` left ffmpeg running under init); and dropping a
//! [`Child`] kills the group. Waiting survives a host
//! that reaps our children behind our back (.NET as PID 1): the status is then unknown, not an
//! error.

use std::ffi::OsString;
use std::path::Path;
use std::process::{ExitStatus, Stdio};

/// A running child in its own process group.
#[derive(Debug)]
pub(crate) struct Child {
    inner: tokio::process::Child,
    pgid: i32,
    exited: bool,
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Exit status 0.
    Success,
    /// Any other status or a signal; the code when there was one.
    Failed(Option<i32>),
    /// Someone else reaped it (ECHILD): judge by its output instead.
    Unknown,
}

impl From<std::io::Result<ExitStatus>> for Exit {
    fn from(r: std::io::Result<ExitStatus>) -> Self {
        match r {
            Ok(s) if s.success() => Exit::Success,
            Ok(s) => Exit::Failed(s.code()),
            Err(_) => Exit::Unknown,
        }
    }
}

/// How to start a child: program and arguments, where, its output, its CPU priority.
#[derive(Debug)]
pub(crate) struct Spawn<'a> {
    program: &'a Path,
    args: &'a [OsString],
    dir: Option<&'a Path>,
    stdout: Stdio,
    stderr: Stdio,
    nice: i32,
}

impl<'a> Spawn<'a> {
    /// `program args` with stdin closed, output discarded, normal priority, in our folder.
    pub(crate) fn new(program: &'a Path, args: &'a [OsString]) -> Self {
        Spawn { program, args, dir: None, stdout: Stdio::null(), stderr: Stdio::null(), nice: 0 }
    }
    /// Runs it inside `dir` (ffmpeg is told its output names relative to its job's folder).
    pub(crate) fn dir(mut self, dir: &'a Path) -> Self {
        self.dir = Some(dir);
        self
    }
    /// Where its stdout goes.
    pub(crate) fn stdout(mut self, stdout: Stdio) -> Self {
        self.stdout = stdout;
        self
    }
    /// Where its stderr goes.
    pub(crate) fn stderr(mut self, stderr: Stdio) -> Self {
        self.stderr = stderr;
        self
    }
    /// CPU priority relative to ours: 0 the same, more for background work (niceness is
    /// capped at 19). Relative, so an engine that runs niced itself still puts background work
    /// below its viewers' encoders.
    pub(crate) fn nice(mut self, nice: i32) -> Self {
        self.nice = nice;
        self
    }

    /// Starts it in a new process group, killed with its parent.
    pub(crate) fn spawn(self) -> std::io::Result<Child> {
        let mut cmd = tokio::process::Command::new(self.program);
        cmd.args(self.args).stdin(Stdio::null()).stdout(self.stdout).stderr(self.stderr).process_group(0);
        if let Some(dir) = self.dir {
            cmd.current_dir(dir);
        }
        let nice = self.nice;
        let life = life_pipe();
        // SAFETY: prctl, setpriority, fork, open, dup2, execv and _exit are async-signal-safe;
        // nothing here allocates or touches memory of the parent.
        unsafe {
            cmd.pre_exec(move || {
                // The process group is set by now (before the closures run): the watchdog
                // joins it, so a kill of the group ends it too.
                if let Some(read) = life {
                    start_watchdog(read);
                }
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // Best effort: a lower priority that cannot be set is not worth failing the run.
                if nice > 0 {
                    libc::nice(nice);
                }
                Ok(())
            });
        }
        let inner = cmd.spawn()?;
        let pgid = inner.id().map(|p| p as i32).unwrap_or(0);
        Ok(Child { inner, pgid, exited: false })
    }

    /// Runs it to its end and collects stdout and stderr, bounded by `timeout`: past it (or when
    /// the future is dropped) the whole group is killed.
    pub(crate) async fn output(self, timeout: std::time::Duration) -> std::result::Result<Output, RunError> {
        let mut child = self.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(RunError::Start)?;
        let (mut out, mut err) = (child.inner.stdout.take(), child.inner.stderr.take());
        let run = async {
            use tokio::io::AsyncReadExt;
            let (mut o, mut e) = (Vec::new(), Vec::new());
            let read_out = async {
                if let Some(s) = out.as_mut() {
                    let _ = s.read_to_end(&mut o).await;
                }
            };
            let read_err = async {
                if let Some(s) = err.as_mut() {
                    let _ = s.read_to_end(&mut e).await;
                }
            };
            tokio::join!(read_out, read_err);
            let exit = child.wait().await;
            Output { exit, stdout: o, stderr: e }
        };
        tokio::time::timeout(timeout, run).await.map_err(|_| RunError::TimedOut(timeout))
    }
}

/// The read end of a pipe whose write end only this process holds (both close on exec): it
/// reads end-of-file once this process is gone, however it ended (`SIGKILL` included). `None`
/// when no pipe could be made: children then have their direct death signal only.
fn life_pipe() -> Option<i32> {
    static PIPE: std::sync::OnceLock<Option<i32>> = std::sync::OnceLock::new();
    *PIPE.get_or_init(|| {
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two descriptors into the array it is given; they are never closed.
        (unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == 0).then_some(fds[0])
    })
}

/// Forks, in a child about to exec, a watchdog into its process group: `/bin/sh` reading the
/// life pipe (its fd 3) until this process is gone, then killing the group. Its stdio is
/// `/dev/null`, so it never holds a pipe our reader waits on. Best effort: without a fork or a
/// shell, the child keeps its direct death signal only.
///
/// # Safety
/// Only between fork and exec (async-signal-safe calls, no allocation).
unsafe fn start_watchdog(life_read: i32) {
    const SH: &[u8] = b"/bin/sh\0";
    const DASH_C: &[u8] = b"-c\0";
    const SCRIPT: &[u8] = b"while read -r _ <&3; do :; done; kill -9 0\0";
    const NULL: &[u8] = b"/dev/null\0";
    // SAFETY: the caller's: this runs between fork and exec.
    unsafe {
        if libc::fork() != 0 {
            return;
        }
        // The pipe to fd 3 first: it may be one of 0..2 in a host that closed its stdio. A dup2
        // onto itself keeps close-on-exec: cleared either way.
        libc::dup2(life_read, 3);
        libc::fcntl(3, libc::F_SETFD, 0);
        let null = libc::open(NULL.as_ptr().cast(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
        }
        let argv =
            [SH.as_ptr().cast::<libc::c_char>(), DASH_C.as_ptr().cast(), SCRIPT.as_ptr().cast(), std::ptr::null()];
        libc::execv(SH.as_ptr().cast(), argv.as_ptr());
        libc::_exit(127);
    }
}

/// What a child run to its end left.
#[derive(Debug)]
pub(crate) struct Output {
    /// How it ended.
    pub exit: Exit,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

/// Why a child run to its end gave no output.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RunError {
    /// It could not be started.
    #[error("cannot start: {0}")]
    Start(std::io::Error),
    /// It ran past its time and was killed.
    #[error("timed out after {} s", .0.as_secs())]
    TimedOut(std::time::Duration),
}

/// This process's own niceness.
pub(crate) fn own_nice() -> i32 {
    // SAFETY: getpriority only reads its arguments; -1 is a valid niceness, hence errno.
    unsafe {
        *libc::__errno_location() = 0;
        let n = libc::getpriority(libc::PRIO_PROCESS, 0);
        if n == -1 && *libc::__errno_location() != 0 {
            0
        } else {
            n
        }
    }
}

impl Child {
    /// The child's stdout, once.
    pub(crate) fn take_stdout(&mut self) -> Option<tokio::process::ChildStdout> {
        self.inner.stdout.take()
    }

    /// Waits for the child to end, then kills what is left of its group (a wrapper script's
    /// ffmpeg must not outlive it). Safe to call again after it returned.
    pub(crate) async fn wait(&mut self) -> Exit {
        let exit = Exit::from(self.inner.wait().await);
        // The group id stays reserved while any member lives, so this reaches only our members.
        self.kill_group();
        self.exited = true;
        exit
    }

    /// Sends SIGKILL to the whole group. A killed ffmpeg never renames its half-written
    /// segment into place, so everything with a final name stays trustworthy (a graceful stop
    /// would flush a short segment under a final name).
    pub(crate) fn kill_group(&self) {
        if self.pgid > 0 && !self.exited {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.pgid), nix::sys::signal::Signal::SIGKILL);
        }
    }

    /// Stops (`SIGSTOP`) or continues (`SIGCONT`) the whole group. A stopped ffmpeg keeps its
    /// files as they are: complete segments stay complete, the one in progress stays under its
    /// temp name, so a later kill or continue is as safe as ever.
    pub(crate) fn suspend(&self, stop: bool) {
        if self.pgid > 0 && !self.exited {
            let signal = if stop { nix::sys::signal::Signal::SIGSTOP } else { nix::sys::signal::Signal::SIGCONT };
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.pgid), signal);
        }
    }

    /// Changes the CPU priority of the whole group to `nice` relative to ours; false when not
    /// allowed (raising priority back needs CAP_SYS_NICE) or already gone.
    pub(crate) fn set_nice(&self, nice: i32) -> bool {
        let absolute = (own_nice() + nice).clamp(-20, 19);
        // SAFETY: setpriority only reads its arguments.
        self.pgid > 0
            && !self.exited
            && unsafe { libc::setpriority(libc::PRIO_PGRP, self.pgid as libc::id_t, absolute) } == 0
    }

    /// Kills the group and reaps the child.
    pub(crate) async fn kill(&mut self) -> Exit {
        self.kill_group();
        self.wait().await
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // tokio reaps the dropped child in the background while its runtime runs.
        self.kill_group();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Running or sleeping; a zombie waiting for its reaper counts as dead.
    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
            .unwrap_or(false)
    }

    #[tokio::test]
    async fn kill_reaches_grandchildren_in_the_group() {
        let args: Vec<OsString> = vec!["-c".into(), "sleep 30 & echo $!; wait".into()];
        let mut child = Spawn::new(Path::new("/bin/sh"), &args).stdout(Stdio::piped()).spawn().unwrap();
        let mut out = child.take_stdout().unwrap();
        let mut buf = [0u8; 32];
        let n = tokio::io::AsyncReadExt::read(&mut out, &mut buf).await.unwrap();
        let grandchild: i32 = std::str::from_utf8(&buf[..n]).unwrap().trim().parse().unwrap();
        assert!(alive(grandchild));
        assert_ne!(child.kill().await, Exit::Success);
        for _ in 0..100 {
            if !alive(grandchild) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(!alive(grandchild), "grandchild survived the group kill");
        assert_ne!(child.wait().await, Exit::Success, "waiting twice is safe");
    }

    /// The state letter of /proc/PID/stat (R, S, T for stopped, Z).
    fn state(pid: i32) -> char {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(')').next().and_then(|r| r.trim_start().chars().next()))
            .unwrap_or('?')
    }

    #[tokio::test]
    async fn suspend_stops_and_continues_and_a_stopped_child_can_be_killed() {
        let args: Vec<OsString> = vec!["30".into()];
        let mut child = Spawn::new(Path::new("/bin/sleep"), &args).spawn().unwrap();
        let pid = child.pgid;
        child.suspend(true);
        let wait_for = |want: char| async move {
            for _ in 0..200 {
                if state(pid) == want {
                    return true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            false
        };
        assert!(wait_for('T').await, "not stopped: {}", state(pid));
        child.suspend(false);
        assert!(wait_for('S').await, "not continued: {}", state(pid));
        child.suspend(true);
        assert!(wait_for('T').await);
        assert_ne!(child.kill().await, Exit::Success, "a stopped child dies of SIGKILL");
        assert!(!alive(pid));
    }

    #[tokio::test]
    async fn exit_codes_are_reported() {
        let ok = Spawn::new(Path::new("/bin/true"), &[]).spawn().unwrap().wait().await;
        assert_eq!(ok, Exit::Success);
        let bad = Spawn::new(Path::new("/bin/false"), &[]).spawn().unwrap().wait().await;
        assert_eq!(bad, Exit::Failed(Some(1)));
    }
}
