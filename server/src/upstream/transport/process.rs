//! A child process in its own process group, and the guarantee that the whole group dies:
//! `terminate` sends SIGTERM to the group, waits a short grace period, then SIGKILLs it and
//! reaps the leader; dropping an unterminated group SIGKILLs it (the drop guard). A group
//! that runs a Docker-isolated server also removes its container (`docker rm -f`) once the
//! client is gone, since a killed `docker run` client leaves the container behind.

use std::{process::ExitStatus, time::Duration};

/// How long a group gets between SIGTERM and SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(2);

/// A spawned child that leads its own process group.
pub(crate) struct ProcessGroup {
    child: tokio::process::Child,
    pgid: i32,
    exit: Option<ExitStatus>,
    terminated: bool,
    /// The Docker container this group's `docker run` client started, if isolated.
    container: Option<String>,
}

impl ProcessGroup {
    /// Take ownership of a child spawned with `process_group(0)`.
    pub(crate) fn new(child: tokio::process::Child) -> std::io::Result<Self> {
        let pid = child
            .id()
            .ok_or_else(|| std::io::Error::other("the child exited before it could be tracked"))?;
        let pgid = i32::try_from(pid).map_err(std::io::Error::other)?;
        Ok(Self {
            child,
            pgid,
            exit: None,
            terminated: false,
            container: None,
        })
    }

    /// Remove the Docker container `name` when this group is terminated or dropped.
    pub(crate) fn with_container(mut self, name: String) -> Self {
        self.container = Some(name);
        self
    }

    /// The leader's pid (= the group id).
    pub(crate) fn pid(&self) -> u32 {
        self.pgid.unsigned_abs()
    }

    /// Wait until the leader exits. Cancel-safe; repeated calls return the same status.
    pub(crate) async fn exited(&mut self) -> std::io::Result<ExitStatus> {
        if let Some(status) = self.exit {
            return Ok(status);
        }
        let status = self.child.wait().await?;
        self.exit = Some(status);
        Ok(status)
    }

    /// The leader's exit status if it has exited within `within`.
    pub(crate) async fn exit_within(&mut self, within: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(within, self.exited())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// SIGTERM the group, wait up to `grace` for the leader, SIGKILL whatever is left and
    /// reap the leader. Idempotent.
    pub(crate) async fn terminate(&mut self, grace: Duration) {
        if self.terminated {
            return;
        }
        if self.exit.is_none() {
            let _ = signal_group(self.pgid, libc::SIGTERM);
            let _ = self.exit_within(grace).await;
        }
        // Also reaches grandchildren that outlived the leader.
        let _ = signal_group(self.pgid, libc::SIGKILL);
        if self.exit.is_none() {
            let _ = self.exit_within(grace).await;
        }
        self.terminated = true;
        // Grandchildren are not ours to reap; wait (bounded) until none of them still runs.
        let deadline = tokio::time::Instant::now() + grace;
        while group_has_live_members(self.pgid) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if let Some(name) = self.container.take() {
            // Bounded by the docker client's own timeout; a container that survives this is
            // labelled `mcpproxy.managed` for manual cleanup.
            let _ = crate::docker::remove_container(&name).await;
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if !self.terminated {
            // Tokio reaps the dropped child in the background.
            let _ = signal_group(self.pgid, libc::SIGKILL);
            if let (Some(name), Ok(runtime)) =
                (self.container.take(), tokio::runtime::Handle::try_current())
            {
                runtime.spawn(async move {
                    let _ = crate::docker::remove_container(&name).await;
                });
            }
        }
    }
}

/// Whether any process of group `pgid` is still running (zombies waiting for their parent
/// or init to reap them do not count). Reads /proc on Linux; elsewhere asks the kernel, which
/// counts zombies too.
fn group_has_live_members(pgid: i32) -> bool {
    #[cfg(target_os = "linux")]
    if let Ok(entries) = std::fs::read_dir("/proc") {
        return entries.flatten().any(|entry| {
            let is_pid = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
            is_pid
                && std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
                    // After the last ')': state ppid pgrp ...
                    let mut fields = stat
                        .rsplit_once(')')
                        .map(|(_, rest)| rest)
                        .unwrap_or("")
                        .split_whitespace();
                    let state = fields.next().unwrap_or("Z");
                    let pgrp = fields.nth(1).and_then(|p| p.parse::<i32>().ok());
                    pgrp == Some(pgid) && !matches!(state, "Z" | "X")
                })
        });
    }
    signal_group(pgid, 0).is_ok()
}

/// Send `signal` to every process of group `pgid`.
#[expect(unsafe_code, reason = "kill(2) on a process group is a libc call")]
fn signal_group(pgid: i32, signal: libc::c_int) -> std::io::Result<()> {
    if pgid <= 1 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "refusing to signal group <= 1",
        ));
    }
    // SAFETY: killpg only takes two integers and touches no memory of ours; pgid > 1 is the
    // group our child leads (spawned with process_group(0)), never ours or "every process".
    let rc = unsafe { libc::killpg(pgid, signal) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: u32) -> bool {
        // A zombie still has /proc/<pid>; check its state too.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(false)
    }

    #[tokio::test]
    async fn terminate_kills_the_whole_group_including_grandchildren() {
        let mut command = tokio::process::Command::new("sh");
        command.args(["-c", "sleep 300 & echo $!; trap '' TERM; wait"]);
        command
            .process_group(0)
            .stdout(std::process::Stdio::piped());
        let mut child = command.spawn().expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let mut group = ProcessGroup::new(child).expect("group");
        let mut line = String::new();
        tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(stdout), &mut line)
            .await
            .expect("read");
        let grandchild: u32 = line.trim().parse().expect("pid");
        let leader = group.pid();
        assert!(alive(leader) && alive(grandchild));
        group.terminate(Duration::from_millis(300)).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while alive(grandchild) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!alive(leader), "leader survived");
        assert!(!alive(grandchild), "grandchild survived");
    }

    #[tokio::test]
    async fn dropping_kills_the_group() {
        let mut command = tokio::process::Command::new("sleep");
        command.arg("300").process_group(0);
        let group = ProcessGroup::new(command.spawn().expect("spawn")).expect("group");
        let pid = group.pid();
        drop(group);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while alive(pid) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!alive(pid));
    }
}
