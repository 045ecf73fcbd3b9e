//! Asking the GitHub releases API for the newest release, and comparing versions.
//!
//! Stable: `GET {api_base}/repos/{repo}/releases/latest` (GitHub itself leaves out drafts
//! and prereleases). Prereleases allowed: `GET {api_base}/repos/{repo}/releases` and the
//! newest non-draft release by semver — not element 0 as in the Go original, since GitHub
//! orders that list by creation date. Every failure becomes a one-line message for the
//! `check_error` field; nothing here panics or logs.

use std::error::Error as StdError;

use semver::Version;
use serde::Deserialize;

use super::UpdateSettings;

/// The fields of a GitHub release we read.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Release {
    pub(crate) tag_name: String,
    #[serde(default)]
    pub(crate) html_url: Option<String>,
    #[serde(default)]
    pub(crate) prerelease: bool,
    #[serde(default)]
    pub(crate) draft: bool,
}

/// Parse a version the way the Go original's `golang.org/x/mod/semver` accepts it: an
/// optional leading `v`, and `1` / `1.2` shorthands for `1.0.0` / `1.2.0`.
pub(crate) fn parse_version(text: &str) -> Option<Version> {
    let text = text.trim();
    let bare = text
        .strip_prefix('v')
        .or_else(|| text.strip_prefix('V'))
        .unwrap_or(text);
    if let Ok(version) = Version::parse(bare) {
        return Some(version);
    }
    let core = bare.split(['-', '+']).next().unwrap_or(bare);
    let suffix = bare.get(core.len()..).unwrap_or_default();
    let padded = match core.split('.').count() {
        1 => format!("{core}.0.0{suffix}"),
        2 => format!("{core}.0{suffix}"),
        _ => return None,
    };
    Version::parse(&padded).ok()
}

/// An error and its causes on one line (`reqwest` puts the useful part in the sources).
fn chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

async fn get(client: &reqwest::Client, url: &str) -> Result<bytes::Bytes, String> {
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .send()
        .await
        .map_err(|e| format!("GitHub API request failed: {}", chain(&e)))?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Err(format!("GitHub API returned status {}", status.as_u16()));
    }
    response
        .bytes()
        .await
        .map_err(|e| format!("reading GitHub API response failed: {}", chain(&e)))
}

fn malformed(e: serde_json::Error) -> String {
    format!("malformed GitHub API response: {e}")
}

/// The newest eligible release and its version; `None` when there is none (no releases, or
/// only drafts/prereleases where those are not wanted).
pub(crate) async fn newest_release(
    client: &reqwest::Client,
    settings: &UpdateSettings,
    repo: &str,
) -> Result<Option<(Release, Version)>, String> {
    let base = format!(
        "{}/repos/{repo}/releases",
        settings.api_base.trim_end_matches('/'),
    );
    if !settings.allow_prerelease {
        let body = get(client, &format!("{base}/latest")).await?;
        let release: Release = serde_json::from_slice(&body).map_err(malformed)?;
        if release.draft || release.prerelease {
            return Ok(None);
        }
        let version = parse_version(&release.tag_name)
            .ok_or_else(|| format!("invalid version tag {:?}", release.tag_name))?;
        if !version.pre.is_empty() {
            return Ok(None);
        }
        return Ok(Some((release, version)));
    }
    let body = get(client, &format!("{base}?per_page=30")).await?;
    let releases: Vec<Release> = serde_json::from_slice(&body).map_err(malformed)?;
    let candidates: Vec<Release> = releases.into_iter().filter(|r| !r.draft).collect();
    let Some(first_tag) = candidates.first().map(|r| r.tag_name.clone()) else {
        return Ok(None);
    };
    candidates
        .into_iter()
        .filter_map(|r| parse_version(&r.tag_name).map(|v| (r, v)))
        .max_by(|a, b| a.1.cmp(&b.1))
        .map(Some)
        .ok_or_else(|| format!("invalid version tag {first_tag:?}: no release has a semver tag"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_like_go_semver() {
        let v = |s| parse_version(s).map(|v| v.to_string());
        assert_eq!(v("v1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(v("1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(v("v1.2").as_deref(), Some("1.2.0"));
        assert_eq!(v("v2").as_deref(), Some("2.0.0"));
        assert_eq!(v("v1.3.0-rc.1").as_deref(), Some("1.3.0-rc.1"));
        assert_eq!(v("v1.3-rc.1").as_deref(), Some("1.3.0-rc.1"));
        for bad in ["development", "", "v", "latest", "1.2.3.4", "v1.x"] {
            assert_eq!(v(bad), None, "{bad}");
        }
        assert!(parse_version("v1.3.0-rc.1") > parse_version("v1.2.9"));
        assert!(parse_version("v1.3.0-rc.1") < parse_version("v1.3.0"));
    }
}
