//! The tool-poisoning scanner's findings and overrides as the REST contract shows them.

use mcpproxy_api::types;

use crate::app::{ScanOverride, ToolScan};
use crate::security::{Finding, Tier};

/// One finding.
pub fn finding(f: &Finding) -> types::ScanFinding {
    types::ScanFinding {
        category: f.category.as_str().to_string(),
        tier: match f.tier {
            Tier::Block => types::ScanTier::Block,
            Tier::Review => types::ScanTier::Review,
        },
        rule: f.rule.clone(),
        field: f.field.clone(),
        start: f.start as u64,
        end: f.end as u64,
        matched: f.matched.clone(),
        reason: f.reason.clone(),
    }
}

/// Every finding.
pub fn findings(list: &[Finding]) -> Vec<types::ScanFinding> {
    list.iter().map(finding).collect()
}

/// An override.
pub fn override_(o: &ScanOverride) -> types::ScanOverride {
    types::ScanOverride {
        reason: o.reason.clone(),
        at: o.at,
    }
}

/// A tool's scan: (findings, override).
pub fn tool_scan(
    scan: Option<&ToolScan>,
) -> (Option<Vec<types::ScanFinding>>, Option<types::ScanOverride>) {
    match scan {
        Some(s) => (
            Some(findings(&s.findings)),
            s.override_.as_ref().map(override_),
        ),
        None => (None, None),
    }
}
