//! `WWW-Authenticate: Bearer …` (or `DPoP …`, RFC 9449 §7.1) challenges (RFC 6750 §3,
//! RFC 9728 §5.1): the parameters a 401 or 403 carries — `resource_metadata`, `scope`,
//! `error`.

use std::collections::HashMap;

/// A parsed Bearer challenge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    /// Where the protected resource metadata is (RFC 9728).
    pub resource_metadata: Option<String>,
    /// The scopes the server asks for, space-separated in the header.
    pub scopes: Vec<String>,
    /// `invalid_token`, `insufficient_scope`, …
    pub error: Option<String>,
}

impl Challenge {
    /// Parse a `WWW-Authenticate` value; parameters of a non-Bearer scheme are ignored.
    pub fn parse(header: &str) -> Self {
        let params = bearer_params(header);
        Self {
            resource_metadata: params.get("resource_metadata").cloned(),
            scopes: params
                .get("scope")
                .map(|s| split_scopes(s))
                .unwrap_or_default(),
            error: params.get("error").cloned(),
        }
    }

    /// Whether the server says the token lacks scope (a step-up is needed).
    pub fn insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }
}

/// Space-separated scopes as a list (empty items dropped).
pub fn split_scopes(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// The `name=value` / `name="value"` parameters after `Bearer` (case-insensitive scheme
/// and names). A header with several schemes stops at the next scheme.
fn bearer_params(header: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let trimmed = header.trim_start();
    let Some(scheme_end) = trimmed
        .find(|c: char| c.is_whitespace())
        .or(Some(trimmed.len()))
    else {
        return out;
    };
    let scheme = &trimmed[..scheme_end];
    if !scheme.eq_ignore_ascii_case("bearer") && !scheme.eq_ignore_ascii_case("dpop") {
        return out;
    }
    let mut rest = &trimmed[scheme_end..];
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        let Some(eq) = rest.find('=') else { break };
        let name = rest[..eq].trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            break; // another scheme begins
        }
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    other => value.push(other),
                }
            }
            (value, &quoted[end.min(quoted.len())..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        out.insert(name.to_ascii_lowercase(), value);
        rest = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_bare_parameters() {
        let c = Challenge::parse(
            r#"Bearer error="insufficient_scope", scope="mcp:basic mcp:write", resource_metadata="http://h/.well-known/oauth-protected-resource/mcp""#,
        );
        assert!(c.insufficient_scope());
        assert_eq!(c.scopes, vec!["mcp:basic", "mcp:write"]);
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("http://h/.well-known/oauth-protected-resource/mcp")
        );
        let bare = Challenge::parse("bearer error=invalid_token,scope=a");
        assert_eq!(bare.error.as_deref(), Some("invalid_token"));
        assert_eq!(bare.scopes, vec!["a"]);
    }

    #[test]
    fn other_schemes_and_escapes() {
        assert_eq!(Challenge::parse(r#"Basic realm="x""#), Challenge::default());
        let c = Challenge::parse(r#"Bearer scope="a\"b""#);
        assert_eq!(c.scopes, vec!["a\"b"]);
    }
}
