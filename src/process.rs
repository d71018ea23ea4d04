//! Supervising one child process (ffmpeg) so it can never outlive its job.
//!
//! The child leads its own process group, so a kill reaches anything it starts; it gets
//! `SIGKILL` if the thread that spawned it dies (`PR_SET_PDEATHSIG`: spawn from the engine's
//! long-lived runtime threads); and dropping a [`Child`] kills the group. Waiting survives a host
//! that reaps our children behind our back (.NET as PID 1): the status is then unknown, not an
//! error.

use std::ffi::OsString;
use std::path::Path;
use std::process::{ExitStatus, Stdio};

/// A running child in its own process group.
#[derive(Debug)]
pub struct Child {
    inner: tokio::process::Child,
    pgid: i32,
    exited: bool,
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
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

/// Spawns `program args` with stdin closed, in a new process group, killed with its parent,
/// at CPU priority `nice` (0 normal, up to 19 for background work).
pub fn spawn(program: &Path, args: &[OsString], stdout: Stdio, stderr: Stdio, nice: i32) -> std::io::Result<Child> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(stdout).stderr(stderr).process_group(0);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Best effort: a lower priority that cannot be set is not worth failing the run.
            if nice > 0 {
                libc::setpriority(libc::PRIO_PROCESS, 0, nice);
            }
            Ok(())
        });
    }
    let inner = cmd.spawn()?;
    let pgid = inner.id().map(|p| p as i32).unwrap_or(0);
    Ok(Child { inner, pgid, exited: false })
}

impl Child {
    /// The child's stdout, once.
    pub fn take_stdout(&mut self) -> Option<tokio::process::ChildStdout> {
        self.inner.stdout.take()
    }

    /// Waits for the child to end. Safe to call again after it returned.
    pub async fn wait(&mut self) -> Exit {
        let exit = Exit::from(self.inner.wait().await);
        self.exited = true;
        exit
    }

    /// Sends SIGKILL to the whole group. A killed ffmpeg never renames its half-written
    /// segment into place, so everything with a final name stays trustworthy (a graceful stop
    /// would flush a short segment under a final name).
    pub fn kill_group(&self) {
        if self.pgid > 0 && !self.exited {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.pgid), nix::sys::signal::Signal::SIGKILL);
        }
    }

    /// Stops (`SIGSTOP`) or continues (`SIGCONT`) the whole group. A stopped ffmpeg keeps its
    /// files as they are: complete segments stay complete, the one in progress stays under its
    /// temp name, so a later kill or continue is as safe as ever.
    pub fn suspend(&self, stop: bool) {
        if self.pgid > 0 && !self.exited {
            let signal = if stop { nix::sys::signal::Signal::SIGSTOP } else { nix::sys::signal::Signal::SIGCONT };
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(self.pgid), signal);
        }
    }

    /// Changes the CPU priority of the whole group; false when not allowed (raising priority
    /// back needs CAP_SYS_NICE) or already gone.
    pub fn set_nice(&self, nice: i32) -> bool {
        // SAFETY: setpriority only reads its arguments.
        self.pgid > 0
            && !self.exited
            && unsafe { libc::setpriority(libc::PRIO_PGRP, self.pgid as libc::id_t, nice) } == 0
    }

    /// Kills the group and reaps the child.
    pub async fn kill(&mut self) -> Exit {
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
        let mut child = spawn(Path::new("/bin/sh"), &args, Stdio::piped(), Stdio::null(), 0).unwrap();
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
        let mut child = spawn(Path::new("/bin/sleep"), &args, Stdio::null(), Stdio::null(), 0).unwrap();
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
        let ok = spawn(Path::new("/bin/true"), &[], Stdio::null(), Stdio::null(), 0).unwrap().wait().await;
        assert_eq!(ok, Exit::Success);
        let bad = spawn(Path::new("/bin/false"), &[], Stdio::null(), Stdio::null(), 0).unwrap().wait().await;
        assert_eq!(bad, Exit::Failed(Some(1)));
    }
}
