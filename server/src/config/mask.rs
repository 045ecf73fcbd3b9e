//! Masking of secrets in every view of the configuration that leaves the process (REST
//! `GET /config` and the servers list, the agents' `upstream_servers list`, diagnostics,
//! error texts, logs). The one definition of what is secret:
//!
//! - every env value (a server's `env`, `environment.custom_vars`) and every header value,
//!   whatever its name (`DATABASE_URL`, `PASS` too), unless it is only `${env:…}` /
//!   `${keyring:…}` references (optionally after an auth scheme such as `Bearer`): a reference
//!   is not a secret, and seeing it helps;
//! - in a URL (a server's `url`, or an argument or flag value that is one) the userinfo (user
//!   and password) and every query and fragment value; scheme, host, port and path stay
//!   readable;
//! - in `args`, the value after or inside a secret-looking flag (`--api-key X`,
//!   `--password=X`), the value of `-e/--env NAME=VALUE` and of `-H/--header "Name: value"`,
//!   of a bare `API_KEY=VALUE`, and a bare argument in a well-known token format (`ghp_…`);
//!   Docker's `extra_args` (global and per server) by the same rule;
//! - OAuth settings whose key looks secret (`client_secret`), and the API key.
//!
//! A mask is the constant [`MASK`]: it tells nothing of the value, not its length, not one
//! character. `unmask` puts the real values back when a masked document returns; `redact`
//! hides a server's secret values inside free text (connection errors, log lines).
//!
//! `-p` is deliberately not a secret flag: it is `--port` or npx's `--package` far more often
//! than a password. Reference parsing belongs to `secrets` (one grammar): the one place this
//! leaf module reaches outside itself.

use super::{Config, ServerConfig};

/// What every masked value shows.
pub const MASK: &str = "********";

/// Words that make a flag or OAuth key name secret-looking (case-insensitive substrings).
const SECRET_WORDS: [&str; 10] = [
    "token",
    "secret",
    "pass",
    "pwd",
    "key",
    "auth",
    "credential",
    "cookie",
    "private",
    "bearer",
];

/// Prefixes of well-known token formats: a bare argument starting with one (and longer than
/// it by [`MIN_TOKEN_TAIL`]) is a credential wherever it stands (`server-x ghp_…`).
const TOKEN_PREFIXES: [&str; 10] = [
    "ghp_",
    "gho_",
    "ghs_",
    "github_pat_",
    "glpat-",
    "sk-",
    "xoxb-",
    "xoxp-",
    "AKIA",
    "AIza",
];

/// Characters a token needs after its prefix to count as one.
const MIN_TOKEN_TAIL: usize = 8;

/// Authentication schemes that may stand before a reference (`Bearer ${keyring:gh}`).
const AUTH_SCHEMES: [&str; 4] = ["bearer", "basic", "token", "bot"];

/// Whether a flag or key name says its value is a secret.
pub fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// Whether `value` holds no literal secret: only references, and at most an auth scheme.
fn is_reference_only(value: &str) -> bool {
    let rest = crate::secrets::without_references(value);
    if rest.len() == value.len() {
        return false;
    }
    let rest = rest.trim();
    rest.is_empty() || AUTH_SCHEMES.iter().any(|s| rest.eq_ignore_ascii_case(s))
}

/// Byte offsets of the characters of `text` that are outside `${…}`, with the characters.
fn outside_refs(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut inside = false;
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        loop {
            let (i, c) = chars.next()?;
            if inside {
                inside = c != '}';
                continue;
            }
            if c == '$' && chars.peek().is_some_and(|(_, next)| *next == '{') {
                inside = text.get(i..).is_some_and(|rest| rest.contains('}'));
                if inside {
                    continue;
                }
            }
            return Some((i, c));
        }
    })
}

fn find_outside(text: &str, targets: &[char]) -> Option<usize> {
    outside_refs(text)
        .find(|(_, c)| targets.contains(c))
        .map(|(i, _)| i)
}

fn split_once_outside(text: &str, sep: char) -> Option<(&str, &str)> {
    let at = find_outside(text, &[sep])?;
    Some((text.get(..at)?, text.get(at + sep.len_utf8()..)?))
}

/// `text` cut at its first `sep` outside references: before, and after when there is one.
fn cut_outside(text: &str, sep: char) -> (&str, Option<&str>) {
    match split_once_outside(text, sep) {
        Some((before, after)) => (before, Some(after)),
        None => (text, None),
    }
}

/// What a secret flag's following argument holds.
#[derive(Clone, Copy)]
enum FlagValue {
    /// The whole value is secret (`--api-key X`).
    Secret,
    /// `NAME=VALUE`, the value secret (`-e`, `--env`).
    EnvPair,
    /// `Name: value`, the value secret (`-H`, `--header`).
    Header,
}

fn flag_value_kind(name: &str) -> Option<FlagValue> {
    match name.to_ascii_lowercase().as_str() {
        "e" | "env" => Some(FlagValue::EnvPair),
        "h" | "header" => Some(FlagValue::Header),
        other if looks_secret(other) => Some(FlagValue::Secret),
        _ => None,
    }
}

/// Applies the rules, and remembers every value it hid (for [`redact`]).
#[derive(Default)]
pub(super) struct Masker {
    /// Every value hidden so far.
    pub(super) hidden: Vec<String>,
}

impl Masker {
    fn value(&mut self, value: &str) -> String {
        if value.is_empty() || value == MASK || is_reference_only(value) {
            return value.to_string();
        }
        self.hidden.push(value.to_string());
        MASK.to_string()
    }

    /// `k=v&k2=v2` (a query or fragment) with every value masked; a part without `=` is a
    /// value.
    fn pairs(&mut self, text: &str) -> String {
        let mut parts = Vec::new();
        let mut rest = Some(text);
        while let Some(current) = rest {
            let (part, next) = cut_outside(current, '&');
            parts.push(match cut_outside(part, '=') {
                (key, Some(value)) => format!("{key}={}", self.value(value)),
                (value, None) => self.value(value),
            });
            rest = next;
        }
        parts.join("&")
    }

    /// A URL with its userinfo and query/fragment values masked; text that is not a URL
    /// (`scheme://…`) comes back unchanged.
    fn url(&mut self, text: &str) -> String {
        let Some(scheme_end) = text.find("://") else {
            return text.to_string();
        };
        let (Some(scheme), Some(rest)) = (text.get(..scheme_end), text.get(scheme_end + 3..))
        else {
            return text.to_string();
        };
        let is_scheme = |c: char| c.is_ascii_alphanumeric() || "+-.".contains(c);
        if scheme.is_empty() || !scheme.chars().all(is_scheme) {
            return text.to_string();
        }
        let authority_end = find_outside(rest, &['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let mut out = format!("{scheme}://");
        let at = outside_refs(authority)
            .filter(|(_, c)| *c == '@')
            .last()
            .map(|(i, _)| i);
        match at.and_then(|at| Some((authority.get(..at)?, authority.get(at + 1..)?))) {
            Some((userinfo, host)) => {
                match cut_outside(userinfo, ':') {
                    (user, Some(password)) => {
                        out.push_str(&self.value(user));
                        out.push(':');
                        out.push_str(&self.value(password));
                    }
                    (userinfo, None) => out.push_str(&self.value(userinfo)),
                }
                out.push('@');
                out.push_str(host);
            }
            None => out.push_str(authority),
        }
        let (before_fragment, fragment) = cut_outside(tail, '#');
        let (path, query) = cut_outside(before_fragment, '?');
        out.push_str(path);
        for (sep, part) in [('?', query), ('#', fragment)] {
            if let Some(part) = part {
                out.push(sep);
                out.push_str(&self.pairs(part));
            }
        }
        out
    }

    fn flag_value(&mut self, kind: FlagValue, value: &str) -> String {
        match kind {
            FlagValue::Secret => self.value(value),
            FlagValue::EnvPair => match value.split_once('=') {
                Some((name, value)) => format!("{name}={}", self.value(value)),
                None => value.to_string(),
            },
            FlagValue::Header => match value.split_once(':') {
                Some((name, value)) => {
                    let trimmed = value.trim_start();
                    let space = value.get(..value.len() - trimmed.len()).unwrap_or_default();
                    format!("{name}:{space}{}", self.value(trimmed))
                }
                None => self.value(value),
            },
        }
    }

    /// An argument that is not a flag: a URL, `NAME=VALUE` with a secret-looking name, or a
    /// well-known token format.
    fn positional(&mut self, arg: &str) -> String {
        let looks_like_token = TOKEN_PREFIXES.iter().any(|prefix| {
            arg.strip_prefix(prefix)
                .is_some_and(|tail| tail.chars().count() >= MIN_TOKEN_TAIL)
        });
        if looks_like_token {
            return self.value(arg);
        }
        match arg.split_once('=') {
            Some((name, value))
                if !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && looks_secret(name) =>
            {
                format!("{name}={}", self.value(value))
            }
            _ => self.url(arg),
        }
    }

    /// One argument that does not follow a secret flag; `expect` is set when it is one.
    fn lone_arg(&mut self, arg: &str, expect: &mut Option<FlagValue>) -> String {
        let name = arg.trim_start_matches('-');
        if name.len() == arg.len() || name.is_empty() {
            return self.positional(arg);
        }
        match name.split_once('=') {
            Some((flag, value)) => {
                let prefix = arg.get(..arg.len() - value.len()).unwrap_or_default();
                let shown = match flag_value_kind(flag) {
                    Some(kind) => self.flag_value(kind, value),
                    None => self.url(value),
                };
                format!("{prefix}{shown}")
            }
            None => {
                *expect = flag_value_kind(name);
                arg.to_string()
            }
        }
    }

    fn args(&mut self, args: &[String]) -> Vec<String> {
        let mut expect = None;
        args.iter()
            .map(|arg| match expect.take() {
                Some(kind) if !arg.starts_with("--") => self.flag_value(kind, arg),
                _ => self.lone_arg(arg, &mut expect),
            })
            .collect()
    }

    /// Docker `extra_args` (a JSON array in `isolation` / `docker_isolation`) masked as args.
    fn extra_args(&mut self, settings: &mut serde_json::Map<String, serde_json::Value>) {
        if let Some(list) = string_list(settings.get(EXTRA_ARGS)) {
            let masked = self.args(&list);
            settings.insert(EXTRA_ARGS.into(), masked.into());
        }
    }

    pub(super) fn server(&mut self, server: &ServerConfig) -> ServerConfig {
        let mut out = server.clone();
        out.url = server.url.as_deref().map(|url| self.url(url));
        out.args = self.args(&server.args);
        if let Some(serde_json::Value::Object(isolation)) = out.isolation.as_mut() {
            self.extra_args(isolation);
        }
        for value in out.env.values_mut().chain(out.headers.values_mut()) {
            *value = self.value(value);
        }
        if let Some(serde_json::Value::Object(oauth)) = out.oauth.as_mut() {
            for (key, value) in oauth.iter_mut() {
                if let serde_json::Value::String(text) = value
                    && looks_secret(key)
                {
                    *text = self.value(text);
                }
            }
        }
        out
    }
}

/// The key of Docker's extra `docker run` arguments, globally and per server.
pub(super) const EXTRA_ARGS: &str = "extra_args";

/// A JSON array of strings as a list (None for anything else).
pub(super) fn string_list(value: Option<&serde_json::Value>) -> Option<Vec<String>> {
    value?
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// `value` masked unless empty or only references.
pub fn mask_value(value: &str) -> String {
    Masker::default().value(value)
}

/// `url` with its userinfo and query/fragment values masked.
pub fn mask_url(url: &str) -> String {
    Masker::default().url(url)
}

/// `args` with the values of secret-looking flags and URL credentials masked.
pub fn mask_args(args: &[String]) -> Vec<String> {
    Masker::default().args(args)
}

/// A copy of `server` as it may be shown: url, args, env, headers and OAuth secrets masked.
pub fn mask_server(server: &ServerConfig) -> ServerConfig {
    Masker::default().server(server)
}

/// A copy of `config` as it may be shown: the API key and every server's secrets masked.
pub fn mask_config(config: &Config) -> Config {
    let mut masker = Masker::default();
    let mut masked = config.clone();
    if let Some(key) = masked.api_key.as_mut() {
        *key = MASK.to_string();
    }
    masked.servers = config.servers.iter().map(|s| masker.server(s)).collect();
    masker.extra_args(&mut masked.docker_isolation.extra);
    for value in masked.environment.custom_vars.values_mut() {
        *value = masker.value(value);
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_masked_whatever_their_name_unless_references() {
        for value in ["hunter2", "postgres://u:p@h/db", "x", "Bearer abc"] {
            assert_eq!(mask_value(value), MASK, "{value}");
        }
        for value in [
            "",
            "${env:HOME}",
            "${keyring:gh}",
            "Bearer ${keyring:gh}",
            "${env:A}${env:B}",
        ] {
            assert_eq!(mask_value(value), value, "{value}");
        }
        assert_eq!(
            mask_value("pw${env:A}"),
            MASK,
            "literal text beside a reference"
        );
        assert_eq!(
            mask_value("${HOME}"),
            MASK,
            "not a reference kind we resolve"
        );
    }

    #[test]
    fn the_mask_reveals_nothing_of_the_value() {
        assert_eq!(mask_value("abc"), mask_value("a-much-longer-secret-value"));
        assert!(!MASK.contains(|c: char| c.is_alphanumeric()));
    }

    #[test]
    fn urls_keep_host_and_path_and_lose_userinfo_and_query_values() {
        assert_eq!(
            mask_url("https://user:hunter2@host/path?key=s3cret&x=1"),
            "https://********:********@host/path?key=********&x=********"
        );
        assert_eq!(
            mask_url("https://ghp_abc@github.com:8443/a/b"),
            "https://********@github.com:8443/a/b"
        );
        assert_eq!(
            mask_url("http://localhost:3000/sse"),
            "http://localhost:3000/sse"
        );
        assert_eq!(
            mask_url("https://h/cb#access_token=t0k&state"),
            "https://h/cb#access_token=********&********"
        );
        assert_eq!(
            mask_url("https://h/?key=${keyring:k}&a=${env:A}"),
            "https://h/?key=${keyring:k}&a=${env:A}",
            "references stay visible"
        );
        assert_eq!(
            mask_url("https://${env:U}:${keyring:p}@h/"),
            "https://${env:U}:${keyring:p}@h/"
        );
        assert_eq!(mask_url("not a url"), "not a url");
        assert_eq!(mask_url("/tmp/x?y=1"), "/tmp/x?y=1", "a path is not a URL");
    }

    #[test]
    fn args_lose_secret_flag_values_and_url_credentials_only() {
        // (argument, as shown)
        let table = [
            ("--api-key", "--api-key"),
            ("AKIA123456", MASK),
            ("--password=pw123456", "--password=********"),
            ("--port", "--port"),
            ("8080", "8080"),
            ("-e", "-e"),
            ("GITHUB_TOKEN=ghp_x", "GITHUB_TOKEN=********"),
            ("-e", "-e"),
            ("PASSTHROUGH", "PASSTHROUGH"),
            ("--header", "--header"),
            ("Authorization: Bearer abc", "Authorization: ********"),
            ("-H=X-Key:v", "-H=X-Key:********"),
            ("postgres://u:p@h/db", "postgres://********:********@h/db"),
            ("--url=https://h/?sig=s", "--url=https://h/?sig=********"),
            ("--token", "--token"),
            ("${keyring:t}", "${keyring:t}"),
            ("-p", "-p"),
            ("3000", "3000"),
            ("--secret", "--secret"),
            ("--verbose", "--verbose"),
            ("ghp_abcdefghijklmnop", MASK),
            ("sk-short", "sk-short"),
            ("API_KEY=abc123", "API_KEY=********"),
            ("MODE=fast", "MODE=fast"),
            ("@scope/server-github", "@scope/server-github"),
        ];
        let args: Vec<String> = table.iter().map(|(arg, _)| arg.to_string()).collect();
        let shown: Vec<&str> = table.iter().map(|(_, shown)| *shown).collect();
        assert_eq!(mask_args(&args), shown);
        assert_eq!(mask_args(&mask_args(&args)), shown, "idempotent");
    }

    #[test]
    fn a_masked_view_hides_every_secret_and_keeps_references() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "api_key": "0123456789abcdef",
            "environment": {"custom_vars": {"SHARED": "shh-value", "REF": "${env:X}"}},
            "mcpServers": [{"name": "gh", "command": "x", "enabled": true,
                "url": "https://u:p@h/?k=v",
                "env": {"GITHUB_TOKEN": "ghp_realtoken123", "PLAIN": "visible", "REF_TOKEN": "${keyring:gh}"},
                "headers": {"Authorization": "Bearer xyz-secret-value"},
                "oauth": {"client_id": "id", "client_secret": "cs-value"},
                "isolation": {"extra_args": ["-e", "T=tok-value", "--read-only"]}}],
            "docker_isolation": {"enabled": false, "extra_args": ["--env=K=v-value"]}
        }))
        .expect("config");
        let masked = mask_config(&config);
        let gh = &masked.servers[0];
        assert_eq!(masked.api_key.as_deref(), Some(MASK));
        assert_eq!(gh.env["GITHUB_TOKEN"], MASK);
        assert_eq!(gh.env["PLAIN"], MASK, "every env value, whatever its name");
        assert_eq!(gh.env["REF_TOKEN"], "${keyring:gh}");
        assert_eq!(gh.headers["Authorization"], MASK);
        assert_eq!(
            gh.url.as_deref(),
            Some("https://********:********@h/?k=********")
        );
        let oauth = gh.oauth.as_ref().expect("oauth");
        assert_eq!(oauth["client_secret"], MASK);
        assert_eq!(oauth["client_id"], "id");
        assert_eq!(
            gh.isolation.as_ref().expect("isolation")["extra_args"],
            serde_json::json!(["-e", "T=********", "--read-only"])
        );
        assert_eq!(
            masked.docker_isolation.extra["extra_args"],
            serde_json::json!(["--env=K=********"])
        );
        assert_eq!(masked.environment.custom_vars["SHARED"], MASK);
        assert_eq!(masked.environment.custom_vars["REF"], "${env:X}");
    }
}
