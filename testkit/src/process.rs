//! `/proc` probes of a process a test started: whether it is alive, whether it still
//! exists, and which TCP ports it listens on (how a test learns the port of a third-party
//! server it told to bind port 0).

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

/// Whether `pid` runs (a zombie counts as dead).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Whether `pid` exists at all (a zombie does).
pub fn exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The TCP ports `pid` listens on (IPv4 and IPv6), ascending.
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy();
            target
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .map(str::to_string)
        })
        .collect();
    let mut ports: Vec<u16> = ["tcp", "tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|row| {
                    let cols: Vec<&str> = row.split_whitespace().collect();
                    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
                    let (local, state, inode) = (cols.get(1)?, cols.get(3)?, cols.get(9)?);
                    (*state == "0A" && inodes.contains(*inode))
                        .then(|| local.rsplit_once(':'))
                        .flatten()
                        .and_then(|(_, port)| u16::from_str_radix(port, 16).ok())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// The first port `pid` listens on, once it listens (polled); `None` after `within` or when
/// the process is gone.
pub async fn wait_listening(pid: u32, within: Duration) -> Option<u16> {
    crate::poll::try_poll(within, crate::poll::EVERY, "a listening port", || async {
        match listening_ports(pid).first() {
            Some(port) => Some(Some(*port)),
            None => (!alive(pid)).then_some(None),
        }
    })
    .await
    .ok()
    .flatten()
}
