//! The unified health of a server: one pure function of its admin flags and connection
//! state (the Go original's calculator, notes §8), table-tested below.

use super::ConnectionState;

/// healthy, degraded or unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Works, or is intentionally off.
    Healthy,
    /// On its way (connecting, discovering).
    Degraded,
    /// Needs a person.
    Unhealthy,
}

impl Level {
    /// The wire name: healthy, degraded or unhealthy.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unhealthy => "unhealthy",
        }
    }
}

/// enabled, disabled or quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminState {
    /// Enabled and approved.
    Enabled,
    /// Turned off by the user.
    Disabled,
    /// Awaiting approval.
    Quarantined,
}

/// The health object of `GET /api/v1/servers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Level.
    pub level: Level,
    /// Admin state.
    pub admin_state: AdminState,
    /// Human-readable summary.
    pub summary: String,
    /// Raw detail (the error), if any.
    pub detail: Option<String>,
    /// Suggested action: login, restart, enable, approve, view_logs, set_secret or empty.
    pub action: &'static str,
}

/// How an error that names an unresolved secret starts (the Go original's HEAD wording).
pub const MISSING_SECRET: &str = "Missing secret: ";

/// The error of a server held back because `name` does not resolve.
pub fn missing_secret_error(name: &str) -> String {
    format!("{MISSING_SECRET}{name}")
}

/// What the calculation looks at.
#[derive(Debug, Clone, Copy)]
pub struct HealthInput<'a> {
    /// Config `enabled`.
    pub enabled: bool,
    /// Config `quarantined`.
    pub quarantined: bool,
    /// Live connection state.
    pub state: ConnectionState,
    /// Last error, if any.
    pub last_error: Option<&'a str>,
    /// Tools discovered.
    pub tool_count: usize,
}

/// The health of one server; first matching rule wins.
pub fn health(input: HealthInput<'_>) -> Health {
    let make = |level, admin_state, summary: String, detail: Option<&str>, action| Health {
        level,
        admin_state,
        summary,
        detail: detail.filter(|d| !d.is_empty()).map(str::to_string),
        action,
    };
    if !input.enabled {
        return make(
            Level::Healthy,
            AdminState::Disabled,
            "Disabled".into(),
            None,
            "enable",
        );
    }
    if input.quarantined {
        return make(
            Level::Healthy,
            AdminState::Quarantined,
            "Quarantined for review".into(),
            None,
            "approve",
        );
    }
    let error = input.last_error;
    match input.state {
        ConnectionState::Error if error.is_some_and(|e| e.starts_with(MISSING_SECRET)) => make(
            Level::Unhealthy,
            AdminState::Enabled,
            error.unwrap_or_default().to_string(),
            None,
            "set_secret",
        ),
        ConnectionState::Error => make(
            Level::Unhealthy,
            AdminState::Enabled,
            friendly_error(error.unwrap_or_default()),
            error,
            "restart",
        ),
        ConnectionState::PendingAuth => make(
            Level::Unhealthy,
            AdminState::Enabled,
            "Authentication required".into(),
            error,
            "login",
        ),
        ConnectionState::Disconnected => {
            let summary = error
                .map(friendly_error)
                .unwrap_or_else(|| "Disconnected".into());
            make(
                Level::Unhealthy,
                AdminState::Enabled,
                summary,
                error,
                "restart",
            )
        }
        ConnectionState::Connecting | ConnectionState::Authenticating => make(
            Level::Degraded,
            AdminState::Enabled,
            "Connecting...".into(),
            None,
            "",
        ),
        ConnectionState::Discovering => make(
            Level::Degraded,
            AdminState::Enabled,
            "Discovering tools...".into(),
            None,
            "",
        ),
        ConnectionState::Ready => {
            let summary = match input.tool_count {
                1 => "Connected (1 tool)".to_string(),
                n => format!("Connected ({n} tools)"),
            };
            make(Level::Healthy, AdminState::Enabled, summary, None, "")
        }
    }
}

/// A short human summary of a raw error (the Go original's table).
pub fn friendly_error(error: &str) -> String {
    const TABLE: [(&str, &str); 11] = [
        ("no such host", "Host not found"),
        ("connection refused", "Connection refused"),
        ("connection reset", "Connection reset"),
        ("timeout", "Connection timeout"),
        ("eof", "Connection closed"),
        ("authentication failed", "Authentication failed"),
        ("unauthorized", "Unauthorized"),
        ("forbidden", "Access forbidden"),
        ("oauth", "OAuth error"),
        ("certificate", "Certificate error"),
        ("dial tcp", "Cannot connect"),
    ];
    let lower = error.to_lowercase();
    if let Some((_, friendly)) = TABLE.iter().find(|(needle, _)| lower.contains(needle)) {
        return friendly.to_string();
    }
    if error.is_empty() {
        return "Connection error".to_string();
    }
    if error.chars().count() > 50 {
        return format!("{}...", error.chars().take(47).collect::<String>());
    }
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(
        enabled: bool,
        quarantined: bool,
        state: ConnectionState,
        err: Option<&str>,
        tools: usize,
    ) -> Health {
        health(HealthInput {
            enabled,
            quarantined,
            state,
            last_error: err,
            tool_count: tools,
        })
    }

    #[test]
    fn a_missing_secret_asks_for_the_secret() {
        let error = missing_secret_error("github-token");
        let h = input(true, false, ConnectionState::Error, Some(&error), 0);
        assert_eq!(h.level, Level::Unhealthy);
        assert_eq!(h.summary, "Missing secret: github-token");
        assert_eq!(h.action, "set_secret");
    }

    #[test]
    fn the_rules_table() {
        use AdminState as A;
        use ConnectionState as S;
        use Level as L;
        let cases: Vec<(Health, L, A, &str, &str)> = vec![
            (
                input(false, false, S::Ready, None, 3),
                L::Healthy,
                A::Disabled,
                "Disabled",
                "enable",
            ),
            (
                input(false, true, S::Error, Some("x"), 0),
                L::Healthy,
                A::Disabled,
                "Disabled",
                "enable",
            ),
            (
                input(true, true, S::Disconnected, None, 0),
                L::Healthy,
                A::Quarantined,
                "Quarantined for review",
                "approve",
            ),
            (
                input(
                    true,
                    false,
                    S::Error,
                    Some("dial tcp: connection refused"),
                    0,
                ),
                L::Unhealthy,
                A::Enabled,
                "Connection refused",
                "restart",
            ),
            (
                input(true, false, S::PendingAuth, Some("401"), 0),
                L::Unhealthy,
                A::Enabled,
                "Authentication required",
                "login",
            ),
            (
                input(true, false, S::Disconnected, None, 0),
                L::Unhealthy,
                A::Enabled,
                "Disconnected",
                "restart",
            ),
            (
                input(true, false, S::Connecting, None, 0),
                L::Degraded,
                A::Enabled,
                "Connecting...",
                "",
            ),
            (
                input(true, false, S::Authenticating, None, 0),
                L::Degraded,
                A::Enabled,
                "Connecting...",
                "",
            ),
            (
                input(true, false, S::Discovering, None, 0),
                L::Degraded,
                A::Enabled,
                "Discovering tools...",
                "",
            ),
            (
                input(true, false, S::Ready, None, 1),
                L::Healthy,
                A::Enabled,
                "Connected (1 tool)",
                "",
            ),
            (
                input(true, false, S::Ready, None, 12),
                L::Healthy,
                A::Enabled,
                "Connected (12 tools)",
                "",
            ),
        ];
        for (got, level, admin, summary, action) in cases {
            assert_eq!(
                (got.level, got.admin_state, got.summary.as_str(), got.action),
                (level, admin, summary, action)
            );
        }
    }

    #[test]
    fn errors_keep_their_raw_detail() {
        let h = input(
            true,
            false,
            ConnectionState::Error,
            Some("read: connection reset by peer"),
            0,
        );
        assert_eq!(h.summary, "Connection reset");
        assert_eq!(h.detail.as_deref(), Some("read: connection reset by peer"));
    }

    #[test]
    fn friendly_error_truncates_long_unknown_messages() {
        assert_eq!(friendly_error(""), "Connection error");
        assert_eq!(friendly_error("weird"), "weird");
        let long = "x".repeat(60);
        assert_eq!(friendly_error(&long), format!("{}...", "x".repeat(47)));
    }
}
