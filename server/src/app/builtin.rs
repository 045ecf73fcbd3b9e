//! The built-in MCP tools by name: one enum, so the dispatcher, the tool definitions, the
//! search answer (`call_with`) and the call path's refusals cannot disagree on a spelling.
//! The names are the Go original's.

use super::calls::Intent;
use super::tokens::Tier;

/// A built-in tool of the proxy's MCP surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `retrieve_tools`: ranked search over the upstream tools.
    RetrieveTools,
    /// `describe_tool`: full definitions by name.
    DescribeTool,
    /// `call_tool`: a call with no claimed intent (legacy).
    CallTool,
    /// `call_tool_read`: a call that only reads.
    CallToolRead,
    /// `call_tool_write`: a call that writes but does not destroy.
    CallToolWrite,
    /// `call_tool_destructive`: any call.
    CallToolDestructive,
    /// `read_cache`: the pages of a truncated answer.
    ReadCache,
    /// `upstream_servers`: server management for agents.
    UpstreamServers,
    /// `quarantine_security`: review of quarantined servers.
    QuarantineSecurity,
}

impl Builtin {
    /// Every built-in tool, in the order they are offered.
    pub const ALL: [Builtin; 9] = [
        Self::RetrieveTools,
        Self::CallTool,
        Self::CallToolRead,
        Self::CallToolWrite,
        Self::CallToolDestructive,
        Self::DescribeTool,
        Self::ReadCache,
        Self::UpstreamServers,
        Self::QuarantineSecurity,
    ];

    /// The tool's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RetrieveTools => "retrieve_tools",
            Self::DescribeTool => "describe_tool",
            Self::CallTool => "call_tool",
            Self::CallToolRead => "call_tool_read",
            Self::CallToolWrite => "call_tool_write",
            Self::CallToolDestructive => "call_tool_destructive",
            Self::ReadCache => "read_cache",
            Self::UpstreamServers => "upstream_servers",
            Self::QuarantineSecurity => "quarantine_security",
        }
    }

    /// The tools that change the proxy's configuration (never offered to agent tokens).
    pub fn is_management(self) -> bool {
        matches!(self, Self::UpstreamServers | Self::QuarantineSecurity)
    }

    /// The intent a `call_tool*` variant claims; `None` for the other tools.
    pub fn intent(self) -> Option<Intent> {
        match self {
            Self::CallTool => Some(Intent::Any),
            Self::CallToolRead => Some(Intent::Read),
            Self::CallToolWrite => Some(Intent::Write),
            Self::CallToolDestructive => Some(Intent::Destructive),
            _ => None,
        }
    }

    /// The `call_tool*` variant that claims `intent`.
    pub fn for_intent(intent: Intent) -> Self {
        match intent {
            Intent::Any => Self::CallTool,
            Intent::Read => Self::CallToolRead,
            Intent::Write => Self::CallToolWrite,
            Intent::Destructive => Self::CallToolDestructive,
        }
    }

    /// The `call_tool*` variant for a tool of `tier` (what `retrieve_tools` says to use).
    pub fn for_tier(tier: Tier) -> Self {
        match tier {
            Tier::Read => Self::CallToolRead,
            Tier::Write => Self::CallToolWrite,
            Tier::Destructive => Self::CallToolDestructive,
        }
    }
}

impl std::fmt::Display for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a built-in tool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tool '{0}' not found")]
pub struct UnknownBuiltin(pub String);

impl std::str::FromStr for Builtin {
    type Err = UnknownBuiltin;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.as_str() == name)
            .ok_or_else(|| UnknownBuiltin(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_the_call_variants_match_their_intents() {
        for builtin in Builtin::ALL {
            assert_eq!(builtin.as_str().parse::<Builtin>(), Ok(builtin));
            if let Some(intent) = builtin.intent() {
                assert_eq!(Builtin::for_intent(intent), builtin);
            }
        }
        assert!("call_tool_everything".parse::<Builtin>().is_err());
    }
}
