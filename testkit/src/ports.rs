//! Addresses, never guessed: a process under test binds port 0 and says where it listens
//! (a ready line, an announced line, or its `/proc` sockets); a test that needs a port
//! nothing answers on holds one closed. No port is picked by binding and releasing it —
//! another process can take it in between (a CI run failed with `Address already in use`).

use std::io::BufRead;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// The address in `mcpproxy`'s `mcpproxy ready … listen: <addr>, …` log line, if `log`
/// holds it (the bound address, also when `listen` asked for port 0).
pub fn ready_addr(log: &str) -> Option<String> {
    ready_field(log, "listen")
}

/// The value of `field` (e.g. `listen`, `metrics`) in the server's `mcpproxy ready` line.
pub fn ready_field(log: &str, field: &str) -> Option<String> {
    let key = format!("{field}: ");
    log.lines()
        .filter(|l| l.contains("mcpproxy ready"))
        .find_map(|l| l.split(key.as_str()).nth(1))
        .and_then(|rest| rest.split([',', ' ']).next())
        .filter(|value| !value.is_empty())
        .map(str::to_string)
}

/// The rest of the first line of `output` that starts with `prefix` (e.g. the fixture's
/// `LISTENING 127.0.0.1:<port>`, a script upstream's `READY <url>`), within `within`. The
/// rest of `output` keeps being read (and dropped) so the writer never blocks on a full pipe.
pub async fn announced<R>(output: R, prefix: &str, within: Duration) -> Option<String>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let mut lines = BufReader::new(output).lines();
    let found = tokio::time::timeout(within, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.trim_end().strip_prefix(prefix) {
                return Some(rest.to_string());
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    found
}

/// As [`announced`], reading a blocking stream (a `std::process` child's stdout) until
/// the line comes or the stream ends.
pub fn announced_blocking(output: impl std::io::Read, prefix: &str) -> Option<String> {
    std::io::BufReader::new(output)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.trim_end().strip_prefix(prefix).map(str::to_string))
}

/// A loopback TCP port held closed: bound by this process, not listening, so a connection
/// is refused and no other process can take the port while this lives.
#[derive(Debug)]
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    /// The port.
    pub port: u16,
}

impl ClosedPort {
    /// Bind a fresh loopback port without listening on it.
    pub fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind 127.0.0.1:0");
        let port = socket.local_addr().expect("bound address").port();
        Self {
            _socket: socket,
            port,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}
