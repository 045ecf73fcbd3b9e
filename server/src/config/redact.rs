//! Hiding secrets inside free text, by the masking rules of `mask`: connection errors, tool
//! call errors and log lines (which may quote a URL, a header or an env value) and parse
//! errors of a configuration document (which quote the value they found).

use super::ServerConfig;
use super::mask::{MASK, Masker, mask_url};

/// Secret values shorter than this are not searched for in free text by [`redact`]: a
/// one-character query value (`x=1`) would otherwise garble every message.
const MIN_REDACTED_CHARS: usize = 4;

/// Characters that end a URL quoted in free text.
const URL_END: [char; 6] = [')', '"', '\'', '<', '>', '`'];

/// `text` with every URL in it (`scheme://…` up to a space or closing quote) masked.
fn mask_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = rest
            .get(..at)
            .and_then(|head| {
                head.rfind(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
            })
            .map_or(0, |i| i + 1);
        let end = rest
            .get(at..)
            .and_then(|tail| tail.find(|c: char| c.is_whitespace() || URL_END.contains(&c)))
            .map_or(rest.len(), |i| at + i);
        let (Some(head), Some(url), Some(tail)) =
            (rest.get(..start), rest.get(start..end), rest.get(end..))
        else {
            break;
        };
        out.push_str(head);
        out.push_str(&mask_url(url));
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Hides one server's secrets in free text (connection errors, log lines): every URL in the
/// text is masked, and every secret value of the server (as the masks hide them) is
/// replaced by [`MASK`]. Built once per configuration, applied to many lines.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// The values to hide, longest first.
    secrets: Vec<String>,
}

impl Redactor {
    /// The redactor of `server`'s secrets (pass the secret-resolved configuration when there
    /// is one, so values from the keyring are hidden too).
    pub fn new(server: &ServerConfig) -> Self {
        let mut masker = Masker::default();
        masker.server(server);
        let mut secrets: Vec<String> = Vec::new();
        for value in masker.hidden {
            // `Bearer abc`: a message may quote the token alone.
            if let Some((_, last)) = value.rsplit_once(char::is_whitespace) {
                secrets.push(last.to_string());
            }
            secrets.push(value);
        }
        secrets.retain(|s| s.chars().count() >= MIN_REDACTED_CHARS);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// `text` with the URLs masked and the secrets replaced.
    pub fn apply(&self, text: &str) -> String {
        let mut out = mask_urls_in(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }
}

/// A parse error of a configuration document (serde's message) with the offending value
/// masked: `invalid type: string "hunter2", expected …` quotes what it found, which may be a
/// secret written in the wrong place. Field names (`missing field \`name\``) stay.
pub fn mask_parse_error(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = ["invalid type: ", "invalid value: "]
        .iter()
        .filter_map(|marker| rest.find(marker).map(|i| i + marker.len()))
        .min()
    {
        let (Some(head), Some(found)) = (rest.get(..at), rest.get(at..)) else {
            break;
        };
        out.push_str(head);
        // `string "…"` (Debug-escaped) or `integer \`…\``, `boolean \`…\``, ….
        let quoted = match (found.find('"'), found.find('`')) {
            (Some(q), Some(b)) if b < q => Some((b, '`')),
            (Some(q), _) => Some((q, '"')),
            (None, Some(b)) => Some((b, '`')),
            (None, None) => None,
        };
        let Some((open, quote)) =
            quoted.filter(|(open, _)| found.get(..*open).is_some_and(|kind| !kind.contains(',')))
        else {
            rest = found;
            continue;
        };
        let body_start = open + 1;
        let mut escaped = false;
        let close = found.get(body_start..).and_then(|body| {
            body.char_indices().find_map(|(i, c)| {
                let end = c == quote && !escaped;
                escaped = c == '\\' && !escaped;
                end.then_some(body_start + i)
            })
        });
        let (Some(kind), Some(close)) = (found.get(..body_start), close) else {
            rest = found;
            continue;
        };
        out.push_str(kind);
        out.push_str(MASK);
        rest = found.get(close..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// `text` with `server`'s secrets hidden ([`Redactor`]), for a one-off message.
pub fn redact(text: &str, server: &ServerConfig) -> String {
    Redactor::new(server).apply(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> ServerConfig {
        serde_json::from_value(serde_json::json!({ "name": name })).expect("server")
    }

    #[test]
    fn parse_errors_lose_the_value_they_quote_and_keep_field_names() {
        for (error, shown) in [
            (
                r#"invalid type: string "hunter2", expected a boolean at line 3 column 20"#,
                r#"invalid type: string "********", expected a boolean at line 3 column 20"#,
            ),
            (
                r#"invalid type: string "a\"b,c", expected x"#,
                r#"invalid type: string "********", expected x"#,
            ),
            (
                "invalid type: integer `123456`, expected a string at line 1 column 9",
                "invalid type: integer `********`, expected a string at line 1 column 9",
            ),
            (
                "invalid type: map, expected a string at line 1 column 9",
                "invalid type: map, expected a string at line 1 column 9",
            ),
            (
                "missing field `name` at line 1 column 2",
                "missing field `name` at line 1 column 2",
            ),
            (
                r#"invalid value: string "x", expected y; invalid type: string "z", expected w"#,
                r#"invalid value: string "********", expected y; invalid type: string "********", expected w"#,
            ),
        ] {
            assert_eq!(mask_parse_error(error), shown);
        }
    }

    #[test]
    fn odd_urls_never_panic_and_masking_is_idempotent() {
        for text in [
            "://",
            "a://@",
            "https://@host",
            "https://:@h",
            "https://h?",
            "https://h#",
            "https://h?&&=&a",
            "x://${env:A",
            "https://ü:ö@h/?ä=ß#ñ",
            "https://a@b@c/d",
            "https://${env:U}@h/${keyring:p/q}?k=${env:K}",
            "see https://u:p@h/x?y=z) and ftp://a:b@c",
        ] {
            let once = mask_url(text);
            assert_eq!(mask_url(&once), once, "{text}");
            let redacted = redact(text, &named("s"));
            assert_eq!(redact(&redacted, &named("s")), redacted);
        }
        assert_eq!(mask_url("https://a@b@c/d"), "https://********@c/d");
        assert_eq!(
            redact("see https://u:p@h/x?y=z) and ftp://a:b@c", &named("s")),
            "see https://********:********@h/x?y=********) and ftp://********:********@c"
        );
    }

    #[test]
    fn redact_hides_a_servers_secrets_in_free_text() {
        let server: ServerConfig = serde_json::from_value(serde_json::json!({
            "name": "s", "url": "https://user:hunter2@host/path?key=s3cret&x=1",
            "headers": {"Authorization": "Bearer abcdef"}
        }))
        .expect("server");
        let text = "error sending request for url (https://user:hunter2@host/path?key=s3cret&x=1): token abcdef refused";
        let redacted = redact(text, &server);
        for secret in ["hunter2", "s3cret", "abcdef"] {
            assert!(!redacted.contains(secret), "{redacted}");
        }
        assert!(redacted.contains("@host/path?key="), "{redacted}");
        assert!(
            !redacted.contains("x=1"),
            "every query value of a quoted URL: {redacted}"
        );
        assert!(redacted.ends_with("refused"), "{redacted}");
        assert_eq!(
            redact("for url (https://host:1/p?x=1&k=v): refused", &server),
            "for url (https://host:1/p?x=********&k=********): refused",
            "a URL quoted without its userinfo is masked too"
        );
        assert_eq!(redact("no secret here", &server), "no secret here");
    }
}
