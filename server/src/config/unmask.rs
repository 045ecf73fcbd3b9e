//! Restoring real values when a masked view of the configuration comes back (a client GETs
//! the config, edits one field and POSTs it; an agent patches a server with the env it was
//! shown). A [`MASK`] is resolved only to the real value at the same place: the same server,
//! the same field, env/header key, OAuth key or argument position, and only when what the
//! masked view showed there is unchanged (a URL whose host changed keeps no password).
//!
//! "The same server" is the server of the same name, or — across a rename — the one current
//! server whose name is gone from the document and whose command, masked URL and masked args
//! are those of the incoming server (its identity). A placeholder that cannot be resolved is
//! reported as a [`Problem`] naming the field (`mcpServers[3].env.DATABASE_URL`), so no
//! placeholder is ever written to disk.

use std::collections::{BTreeMap, HashSet};

use super::mask::{EXTRA_ARGS, MASK, mask_args, mask_url, mask_value, string_list};
use super::{Config, Problem, ServerConfig};

fn unresolved(field: String) -> Problem {
    Problem {
        field,
        message: format!(
            "is the mask {MASK} with no real value at this place of this server: give the value or a ${{env:…}}/${{keyring:…}} reference"
        ),
    }
}

/// The current server an incoming one stands for, by name or by identity across a rename.
fn counterpart<'a>(
    server: &ServerConfig,
    incoming_names: &HashSet<&str>,
    current: &'a Config,
) -> Option<&'a ServerConfig> {
    if let Some(same) = current.servers.iter().find(|s| s.name == server.name) {
        return Some(same);
    }
    let has_identity = server.command.as_deref().is_some_and(|c| !c.is_empty())
        || server.url.as_deref().is_some_and(|u| !u.is_empty());
    if !has_identity {
        return None;
    }
    let mut renamed = current.servers.iter().filter(|old| {
        !incoming_names.contains(old.name.as_str())
            && old.command == server.command
            && old.url.as_deref().map(mask_url) == server.url.as_deref().map(mask_url)
            && mask_args(&old.args) == mask_args(&server.args)
    });
    match (renamed.next(), renamed.next()) {
        (Some(one), None) => Some(one),
        _ => None,
    }
}

/// Restore masked values of one map (env, headers, custom vars) by key.
fn restore_map(
    map: &mut BTreeMap<String, String>,
    old: Option<&BTreeMap<String, String>>,
    field: &str,
    problems: &mut Vec<Problem>,
) {
    for (key, value) in map.iter_mut().filter(|(_, v)| v.contains(MASK)) {
        match old
            .and_then(|old| old.get(key))
            .filter(|real| mask_value(real) == *value)
        {
            Some(real) => value.clone_from(real),
            None => problems.push(unresolved(format!("{field}.{key}"))),
        }
    }
}

/// Restore masked arguments by position: the same position, showing the same, after the same
/// argument (so a value moved under another flag keeps no secret).
fn restore_args(
    field: &str,
    args: &mut [String],
    old: Option<&[String]>,
    problems: &mut Vec<Problem>,
) {
    let shown = args.to_vec();
    let old_shown = old.map(mask_args);
    let same_place = |at: usize| old_shown.as_ref().and_then(|s| s.get(at)) == shown.get(at);
    for (i, arg) in args.iter_mut().enumerate() {
        if !arg.contains(MASK) {
            continue;
        }
        let real = old
            .filter(|_| same_place(i) && (i == 0 || same_place(i - 1)))
            .and_then(|o| o.get(i));
        match real {
            Some(real) => arg.clone_from(real),
            None => problems.push(unresolved(format!("{field}[{i}]"))),
        }
    }
}

/// [`restore_args`] for Docker's `extra_args` inside a settings object.
fn restore_extra_args(
    field: &str,
    settings: &mut serde_json::Map<String, serde_json::Value>,
    old: Option<&serde_json::Value>,
    problems: &mut Vec<Problem>,
) {
    let Some(mut list) = string_list(settings.get(EXTRA_ARGS)) else {
        return;
    };
    let old = string_list(old);
    restore_args(
        &format!("{field}.{EXTRA_ARGS}"),
        &mut list,
        old.as_deref(),
        problems,
    );
    settings.insert(EXTRA_ARGS.into(), list.into());
}

fn restore_server(
    field: &str,
    server: &mut ServerConfig,
    old: Option<&ServerConfig>,
    problems: &mut Vec<Problem>,
) {
    if let Some(url) = server.url.as_mut().filter(|u| u.contains(MASK)) {
        match old
            .and_then(|o| o.url.as_ref())
            .filter(|real| mask_url(real) == *url)
        {
            Some(real) => url.clone_from(real),
            None => problems.push(unresolved(format!("{field}.url"))),
        }
    }
    restore_args(
        &format!("{field}.args"),
        &mut server.args,
        old.map(|o| o.args.as_slice()),
        problems,
    );
    if let Some(serde_json::Value::Object(isolation)) = server.isolation.as_mut() {
        let old_isolation = old.and_then(|o| o.isolation.as_ref());
        restore_extra_args(
            &format!("{field}.isolation"),
            isolation,
            old_isolation.and_then(|i| i.get(EXTRA_ARGS)),
            problems,
        );
    }
    restore_map(
        &mut server.env,
        old.map(|o| &o.env),
        &format!("{field}.env"),
        problems,
    );
    restore_map(
        &mut server.headers,
        old.map(|o| &o.headers),
        &format!("{field}.headers"),
        problems,
    );
    if let Some(serde_json::Value::Object(oauth)) = server.oauth.as_mut() {
        let old_oauth = old.and_then(|o| o.oauth.as_ref());
        for (key, value) in oauth.iter_mut() {
            let serde_json::Value::String(text) = value else {
                continue;
            };
            if !text.contains(MASK) {
                continue;
            }
            match old_oauth
                .and_then(|o| o.get(key))
                .and_then(serde_json::Value::as_str)
                .filter(|real| mask_value(real) == *text)
            {
                Some(real) => *text = real.to_string(),
                None => problems.push(unresolved(format!("{field}.oauth.{key}"))),
            }
        }
    }
}

/// In `incoming`, replace every [`MASK`] by the real value `current` holds at the same place,
/// and keep the current API key when `incoming` has none. Returns a problem for each mask
/// that has no such value (those are left in `incoming`; never save it then).
pub fn unmask(incoming: &mut Config, current: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    match (&incoming.api_key, &current.api_key) {
        (None, Some(_)) => incoming.api_key.clone_from(&current.api_key),
        (Some(key), real) if key.contains(MASK) => {
            match real.as_ref().filter(|r| mask_value(r) == *key) {
                Some(real) => incoming.api_key = Some(real.clone()),
                None => problems.push(unresolved("api_key".into())),
            }
        }
        _ => {}
    }
    let names: HashSet<String> = incoming.servers.iter().map(|s| s.name.clone()).collect();
    let names: HashSet<&str> = names.iter().map(String::as_str).collect();
    for (i, server) in incoming.servers.iter_mut().enumerate() {
        let old = counterpart(server, &names, current);
        restore_server(&format!("mcpServers[{i}]"), server, old, &mut problems);
    }
    restore_extra_args(
        "docker_isolation",
        &mut incoming.docker_isolation.extra,
        current.docker_isolation.extra.get(EXTRA_ARGS),
        &mut problems,
    );
    restore_map(
        &mut incoming.environment.custom_vars,
        Some(&current.environment.custom_vars),
        "environment.custom_vars",
        &mut problems,
    );
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::mask_config;

    fn current() -> Config {
        serde_json::from_value(serde_json::json!({
            "api_key": "0123456789abcdef",
            "environment": {"custom_vars": {"SHARED": "shh-value"}},
            "docker_isolation": {"extra_args": ["--env=K=v-value"]},
            "mcpServers": [
                {"name": "gh", "command": "npx", "args": ["-y", "gh-server", "--api-key", "AKIA123456"],
                 "env": {"GITHUB_TOKEN": "ghp_realtoken123", "REF_TOKEN": "${keyring:gh}"},
                 "isolation": {"extra_args": ["-e", "T=tok-value"]}},
                {"name": "web", "url": "https://user:hunter2@host/path?key=s3cret&x=1",
                 "headers": {"Authorization": "Bearer xyz-secret-value"},
                 "oauth": {"client_secret": "cs-value"}},
                {"name": "other", "command": "npx", "args": ["-y", "slack-server"],
                 "env": {"SLACK_TOKEN": "xoxb-1"}}
            ]
        }))
        .expect("config")
    }

    #[test]
    fn a_masked_view_round_trips_without_losing_secrets() {
        let current = current();
        let mut back = mask_config(&current);
        back.tools_limit = 20;
        assert!(unmask(&mut back, &current).is_empty());
        assert_eq!(back.api_key, current.api_key);
        assert_eq!(back.servers, current.servers);
        assert_eq!(back.environment, current.environment);
        assert_eq!(back.docker_isolation, current.docker_isolation);
        assert_eq!(back.tools_limit, 20);

        let mut absent_key = mask_config(&current);
        absent_key.api_key = None;
        assert!(unmask(&mut absent_key, &current).is_empty());
        assert_eq!(absent_key.api_key, current.api_key);
    }

    #[test]
    fn a_renamed_server_keeps_its_secrets_by_identity() {
        let current = current();
        let mut back = mask_config(&current);
        back.servers[0].name = "github".into();
        back.servers[1].name = "website".into();
        assert!(unmask(&mut back, &current).is_empty());
        assert_eq!(back.servers[0].env, current.servers[0].env);
        assert_eq!(back.servers[0].args, current.servers[0].args);
        assert_eq!(back.servers[0].isolation, current.servers[0].isolation);
        assert_eq!(back.servers[1].url, current.servers[1].url);
        assert_eq!(back.servers[1].headers, current.servers[1].headers);
        assert_eq!(back.servers[1].oauth, current.servers[1].oauth);
    }

    #[test]
    fn unmatched_masks_are_refused_by_field() {
        let current = current();
        let mut back = mask_config(&current);
        // A renamed server whose args also changed has no identity to match.
        back.servers[0].name = "github".into();
        back.servers[0].args[1] = "gh-server@2".into();
        // A changed host must not receive the old password.
        back.servers[1].url =
            Some("https://********:********@evil/path?key=********&x=********".into());
        // A new key has no real value.
        back.servers[2].env.insert("NEW".into(), MASK.to_string());
        back.api_key = Some(format!("{MASK}x"));
        let fields: Vec<String> = unmask(&mut back, &current)
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "api_key",
                "mcpServers[0].args[3]",
                "mcpServers[0].isolation.extra_args[1]",
                "mcpServers[0].env.GITHUB_TOKEN",
                "mcpServers[1].url",
                "mcpServers[2].env.NEW",
            ]
        );
    }

    #[test]
    fn an_arg_mask_resolves_only_after_the_same_flag_at_the_same_position() {
        let current = current();
        let mut moved = mask_config(&current);
        moved.servers[0].args = vec!["--api-key".into(), MASK.into()];
        assert_eq!(unmask(&mut moved, &current).len(), 1);
        let mut kept = mask_config(&current);
        kept.servers[0].args.push("--verbose".into());
        assert!(unmask(&mut kept, &current).is_empty());
        assert_eq!(kept.servers[0].args[3], "AKIA123456");
    }
}
