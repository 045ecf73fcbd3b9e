//! Masking of secrets in configuration views, and restoring them when a masked view comes
//! back (a client that GETs the config, edits one field and POSTs it must not overwrite the
//! real API key or tokens with their masks).

use super::Config;

/// The Go original's mask: `****` (≤ 4 chars), first 2 + `****` (≤ 8), else first 3 +
/// `****` + last 2.
pub fn mask_secret(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    match chars.len() {
        0..=4 => "****".to_string(),
        5..=8 => format!("{}****", chars[..2].iter().collect::<String>()),
        n => format!(
            "{}****{}",
            chars[..3].iter().collect::<String>(),
            chars[n - 2..].iter().collect::<String>()
        ),
    }
}

/// Whether a key names something secret (env variable or header).
fn looks_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "passwd",
        "key",
        "auth",
        "credential",
        "cookie",
        "session",
        "private",
    ]
    .iter()
    .any(|needle| key.contains(needle))
}

/// A secret reference (`${env:X}`, `${keyring:x}`) is not itself secret.
fn is_reference(value: &str) -> bool {
    value.starts_with("${") && value.ends_with('}')
}

fn should_mask(key: &str, value: &str) -> bool {
    looks_secret(key) && !is_reference(value) && !value.is_empty()
}

/// A copy of `config` with the API key and secret-looking env/header values masked.
pub fn mask_config(config: &Config) -> Config {
    let mut masked = config.clone();
    if let Some(key) = masked.api_key.as_mut() {
        *key = mask_secret(key);
    }
    for server in &mut masked.servers {
        for (k, v) in server.env.iter_mut().chain(server.headers.iter_mut()) {
            if should_mask(k, v) {
                *v = mask_secret(v);
            }
        }
        if let Some(secret) = server
            .oauth
            .as_mut()
            .and_then(|o| o.get_mut("client_secret"))
            && let Some(s) = secret.as_str().filter(|s| !s.is_empty())
        {
            *secret = serde_json::Value::String(mask_secret(s));
        }
    }
    for (k, v) in masked.environment.custom_vars.iter_mut() {
        if should_mask(k, v) {
            *v = mask_secret(v);
        }
    }
    masked
}

/// In `incoming`, put back every value that is exactly the mask of the value `current` holds
/// at the same place, and keep the current API key when `incoming` has none.
pub fn restore_masked(incoming: &mut Config, current: &Config) {
    match (&incoming.api_key, &current.api_key) {
        (None, Some(_)) => incoming.api_key = current.api_key.clone(),
        (Some(new), Some(old)) if *new == mask_secret(old) => incoming.api_key = Some(old.clone()),
        _ => {}
    }
    for server in &mut incoming.servers {
        let Some(old) = current.servers.iter().find(|s| s.name == server.name) else {
            continue;
        };
        for (map, old_map) in [
            (&mut server.env, &old.env),
            (&mut server.headers, &old.headers),
        ] {
            for (k, v) in map.iter_mut() {
                if let Some(real) = old_map.get(k).filter(|real| *v == mask_secret(real)) {
                    *v = real.clone();
                }
            }
        }
        let old_secret = old
            .oauth
            .as_ref()
            .and_then(|o| o.get("client_secret"))
            .and_then(|s| s.as_str());
        if let (Some(secret), Some(real)) = (
            server
                .oauth
                .as_mut()
                .and_then(|o| o.get_mut("client_secret")),
            old_secret,
        ) && secret.as_str() == Some(mask_secret(real).as_str())
        {
            *secret = serde_json::Value::String(real.to_string());
        }
    }
    for (k, v) in incoming.environment.custom_vars.iter_mut() {
        if let Some(real) = current
            .environment
            .custom_vars
            .get(k)
            .filter(|real| *v == mask_secret(real))
        {
            *v = real.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_like_the_go_original() {
        assert_eq!(mask_secret("abc"), "****");
        assert_eq!(mask_secret("abcdefg"), "ab****");
        assert_eq!(mask_secret("abcdefghijkl"), "abc****kl");
    }

    #[test]
    fn masked_view_round_trips_without_losing_secrets() {
        let current: Config = serde_json::from_value(serde_json::json!({
            "api_key": "0123456789abcdef",
            "mcpServers": [{"name": "gh", "command": "x", "enabled": true,
                "env": {"GITHUB_TOKEN": "ghp_realtoken123", "PLAIN": "visible", "REF_TOKEN": "${keyring:gh}"},
                "headers": {"Authorization": "Bearer xyz-secret-value"}}]
        }))
        .expect("config");
        let masked = mask_config(&current);
        let gh = &masked.servers[0];
        assert_eq!(masked.api_key.as_deref(), Some("012****ef"));
        assert_eq!(gh.env["GITHUB_TOKEN"], "ghp****23");
        assert_eq!(gh.env["PLAIN"], "visible");
        assert_eq!(gh.env["REF_TOKEN"], "${keyring:gh}");
        assert_ne!(gh.headers["Authorization"], "Bearer xyz-secret-value");

        let mut back = masked.clone();
        back.tools_limit = 20;
        restore_masked(&mut back, &current);
        assert_eq!(back.api_key, current.api_key);
        assert_eq!(back.servers[0].env, current.servers[0].env);
        assert_eq!(back.servers[0].headers, current.servers[0].headers);
        assert_eq!(back.tools_limit, 20);
    }
}
