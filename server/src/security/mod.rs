//! Tool-level security: fingerprints of tool definitions ([`tool_hash`]), tool pinning that
//! holds changed tools until a user approves them ([`ToolPinning`]), and heuristics that flag
//! tool-poisoning markers in descriptions ([`scan_description`]). Approvals live in
//! [`crate::storage`]; this module decides, storage only keeps.

mod hash;
mod pinning;
mod scan;

pub use hash::{canonical_json, tool_hash};
pub use pinning::{PinVerdict, PinnedTool, SecurityError, ToolPinning};
pub use scan::{
    Category, Finding, LONG_DESCRIPTION_CHARS, ScanContext, Tier, ToolText, scan_description,
    scan_tool, verdict,
};
