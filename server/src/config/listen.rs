//! The `listen` setting, parsed once into what the process does with it: MCP over stdio
//! (`""` or `":0"`, as in the Go original), or a TCP address to bind. `":PORT"` is the Go
//! original's form for every interface; it is accepted, and flagged, because the API key is
//! then the only guard.

use std::fmt;

/// What a `listen` value asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// MCP on stdin/stdout, no TCP port.
    Stdio,
    /// A TCP port.
    Tcp {
        /// What to bind, e.g. `127.0.0.1:8080` (`:8080` becomes `0.0.0.0:8080`).
        bind: String,
        /// Whether it is reachable from other machines (every interface).
        all_interfaces: bool,
    },
}

/// A `listen` value that is neither stdio nor `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid listen address: {0:?} (expected host:port, \":port\" for every interface, or \":0\" for MCP over stdio)"
)]
pub struct InvalidListen(pub String);

impl Listen {
    /// Parse `listen`.
    pub fn parse(listen: &str) -> Result<Self, InvalidListen> {
        let trimmed = listen.trim();
        if matches!(trimmed, "" | ":0") {
            return Ok(Self::Stdio);
        }
        let invalid = || InvalidListen(listen.to_string());
        let (host, port) = trimmed.rsplit_once(':').ok_or_else(invalid)?;
        port.parse::<u16>().map_err(|_| invalid())?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let host_ok = host.is_empty()
            || host.parse::<std::net::IpAddr>().is_ok()
            || (host.starts_with('[') && bare.parse::<std::net::Ipv6Addr>().is_ok())
            || host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if !host_ok {
            return Err(invalid());
        }
        let bind = match host.is_empty() {
            true => format!("0.0.0.0:{port}"),
            false => trimmed.to_string(),
        };
        let all_interfaces = matches!(bare, "" | "0.0.0.0" | "::");
        Ok(Self::Tcp {
            bind,
            all_interfaces,
        })
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdio => f.write_str("stdin/stdout"),
            Self::Tcp { bind, .. } => f.write_str(bind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(bind: &str, all_interfaces: bool) -> Listen {
        Listen::Tcp {
            bind: bind.into(),
            all_interfaces,
        }
    }

    #[test]
    fn forms() {
        assert_eq!(Listen::parse(""), Ok(Listen::Stdio));
        assert_eq!(Listen::parse(" :0 "), Ok(Listen::Stdio));
        assert_eq!(Listen::parse(":8081"), Ok(tcp("0.0.0.0:8081", true)));
        assert_eq!(
            Listen::parse("127.0.0.1:8080"),
            Ok(tcp("127.0.0.1:8080", false))
        );
        assert_eq!(Listen::parse("0.0.0.0:1"), Ok(tcp("0.0.0.0:1", true)));
        assert_eq!(Listen::parse("[::]:1"), Ok(tcp("[::]:1", true)));
        assert_eq!(Listen::parse("[::1]:8080"), Ok(tcp("[::1]:8080", false)));
        assert_eq!(Listen::parse("localhost:1"), Ok(tcp("localhost:1", false)));
        for bad in [
            "8080",
            "127.0.0.1:",
            "127.0.0.1:99999",
            "a b:1",
            "http://x:1",
        ] {
            assert_eq!(Listen::parse(bad), Err(InvalidListen(bad.into())), "{bad}");
        }
    }
}
