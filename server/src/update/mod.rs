//! The update check: is a newer release of mcpproxy published on GitHub? Owns the `update`
//! object of `GET /api/v1/info` ([`UpdateInfo`]).
//!
//! [`UpdateChecker::spawn`] checks once at start (in the background, so start-up never
//! waits on the network) and then every [`UpdateSettings::interval`] (4 h) until shutdown.
//! A failed check — GitHub unreachable, a non-200 status, malformed JSON, a tag that is not
//! semver — never panics: it records `check_error` and `checked_at` and keeps the last good
//! answer. Versions compare by semver; tags may carry a leading `v`.
//!
//! Like the Go original, the check is off when `MCPPROXY_DISABLE_AUTO_UPDATE=true` or when the
//! running version is not semver (e.g. `development` builds); prereleases count only with
//! `MCPPROXY_ALLOW_PRERELEASE_UPDATES=true`. `MCPPROXY_UPDATE_API_BASE` points the check at
//! another API root (tests, GitHub Enterprise, mirrors).
//!
//! The releases checked are this project's own: the repository is set when a release is
//! built (`MCPPROXY_RELEASE_REPO=owner/name` at compile time) and can be changed at run time
//! with `MCPPROXY_UPDATE_REPO=owner/name`; without one the check is off. Versions of another
//! product are never compared with ours: the Go original's repository is refused (its
//! `v0.11` is not newer than this port's `0.1`), and says so in `check_error`.
//! This module only reports: it never downloads or installs anything.

mod github;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use semver::Version;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// The public GitHub API.
pub const DEFAULT_API_BASE: &str = "https://api.github.com";
/// The repository whose releases are checked: this project's, set when a release is built.
pub const DEFAULT_REPO: Option<&str> = option_env!("MCPPROXY_RELEASE_REPO");
/// Repositories of other products whose version numbers mean something else.
const OTHER_PRODUCTS: [&str; 1] = ["smart-mcp-proxy/mcpproxy-go"];
/// Time between checks.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(4 * 60 * 60);
/// Timeout of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// `MCPPROXY_DISABLE_AUTO_UPDATE=true` turns the check off.
pub const ENV_DISABLE: &str = "MCPPROXY_DISABLE_AUTO_UPDATE";
/// `MCPPROXY_ALLOW_PRERELEASE_UPDATES=true` lets prereleases count.
pub const ENV_ALLOW_PRERELEASE: &str = "MCPPROXY_ALLOW_PRERELEASE_UPDATES";
/// `MCPPROXY_UPDATE_API_BASE` replaces [`DEFAULT_API_BASE`].
pub const ENV_API_BASE: &str = "MCPPROXY_UPDATE_API_BASE";
/// `MCPPROXY_UPDATE_REPO=owner/name` replaces [`DEFAULT_REPO`].
pub const ENV_REPO: &str = "MCPPROXY_UPDATE_REPO";

/// How and whether to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSettings {
    /// API root, without a trailing slash (`https://api.github.com`).
    pub api_base: String,
    /// `owner/name` of this project's repository; `None` turns the check off.
    pub repo: Option<String>,
    /// Let prereleases count as updates.
    pub allow_prerelease: bool,
    /// Never check.
    pub disabled: bool,
    /// Time between checks.
    pub interval: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
}

impl Default for UpdateSettings {
    fn default() -> Self {
        Self {
            api_base: DEFAULT_API_BASE.to_string(),
            repo: DEFAULT_REPO.map(str::to_string),
            allow_prerelease: false,
            disabled: false,
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl UpdateSettings {
    /// Defaults with the `MCPPROXY_*` overrides of the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    /// Defaults with overrides from `lookup` (the environment, or a map in tests). Flags are
    /// on only for the exact value `true`, as in the Go original.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        let flag = |name| lookup(name).is_some_and(|v| v.trim() == "true");
        let api_base = lookup(ENV_API_BASE)
            .map(|v| v.trim().trim_end_matches('/').to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_API_BASE.to_string());
        let repo = lookup(ENV_REPO)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .or_else(|| DEFAULT_REPO.map(str::to_string));
        Self {
            api_base,
            repo,
            allow_prerelease: flag(ENV_ALLOW_PRERELEASE),
            disabled: flag(ENV_DISABLE),
            ..Self::default()
        }
    }
}

/// The REST `update` object: what the last check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateInfo {
    /// A newer version is published.
    pub available: bool,
    /// The newest release's tag, as published (`v1.4.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_version: Option<String>,
    /// Its release page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_url: Option<String>,
    /// When the last check finished (successful or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<DateTime<Utc>>,
    /// Whether the newest release is a prerelease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_prerelease: Option<bool>,
    /// Why the last check failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_error: Option<String>,
}

/// Checks GitHub for a newer release and remembers the answer.
#[derive(Debug)]
pub struct UpdateChecker {
    current: Option<Version>,
    settings: UpdateSettings,
    client: Result<reqwest::Client, String>,
    last: Mutex<Option<UpdateInfo>>,
}

impl UpdateChecker {
    /// A checker for the running `current_version` (`1.2.3` or `v1.2.3`; anything else, such
    /// as `development`, turns checking off).
    pub fn new(current_version: &str, settings: UpdateSettings) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(format!("mcpproxy/{current_version} (update check)"))
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"));
        Self {
            current: github::parse_version(current_version),
            settings,
            client,
            last: Mutex::new(None),
        }
    }

    /// Whether checks run at all (not disabled, a repository is set, and the running version
    /// is semver).
    pub fn enabled(&self) -> bool {
        !self.settings.disabled && self.current.is_some() && self.settings.repo.is_some()
    }

    /// The settings in use.
    pub fn settings(&self) -> &UpdateSettings {
        &self.settings
    }

    fn last(&self) -> MutexGuard<'_, Option<UpdateInfo>> {
        crate::sync::lock(&self.last)
    }

    /// The answer of the last check, if one has finished.
    pub fn latest(&self) -> Option<UpdateInfo> {
        self.last().clone()
    }

    /// The REST `update` object: the last answer, or `{"available": false}`.
    pub fn info(&self) -> UpdateInfo {
        self.latest().unwrap_or_default()
    }

    /// Check now and return the new answer (`{"available": false}` without asking anyone
    /// when checking is off). Bounded by the settings' timeout.
    pub async fn check_now(&self) -> UpdateInfo {
        let (Some(current), Some(repo)) = (
            self.current.as_ref().filter(|_| !self.settings.disabled),
            self.settings.repo.as_deref(),
        ) else {
            return UpdateInfo::default();
        };
        let outcome = match (&self.client, another_product(repo)) {
            (_, Some(problem)) => Err(problem),
            (Ok(client), None) => github::newest_release(client, &self.settings, repo).await,
            (Err(e), None) => Err(e.clone()),
        };
        let now = Utc::now();
        let mut last = self.last();
        let info = match outcome {
            Ok(Some((release, version))) => UpdateInfo {
                available: version > *current,
                latest_version: Some(release.tag_name),
                release_url: release.html_url,
                checked_at: Some(now),
                is_prerelease: Some(release.prerelease || !version.pre.is_empty()),
                check_error: None,
            },
            Ok(None) => UpdateInfo {
                checked_at: Some(now),
                ..UpdateInfo::default()
            },
            Err(error) => {
                let mut kept = last.clone().unwrap_or_default();
                kept.checked_at = Some(now);
                kept.check_error = Some(error);
                kept
            }
        };
        *last = Some(info.clone());
        info
    }

    /// Check at once and then every interval, in the background, until `shutdown`. Returns
    /// immediately; when checking is off the task ends at once.
    pub fn spawn(self: Arc<Self>, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            if !self.enabled() {
                return;
            }
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.check_now() => {}
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(self.settings.interval) => {}
                }
            }
        })
    }
}

/// Why `repo` cannot be this product's, if it is another's.
fn another_product(repo: &str) -> Option<String> {
    OTHER_PRODUCTS
        .iter()
        .any(|other| other.eq_ignore_ascii_case(repo.trim_matches('/')))
        .then(|| {
            format!(
                "{repo} publishes another product (the Go original), whose versions cannot be compared with this build's; set {ENV_REPO} to this project's repository"
            )
        })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::convert::Infallible;
    use std::net::SocketAddr;

    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    use hyper_util::rt::TokioIo;
    use serde_json::json;
    use tokio::sync::mpsc;

    use super::*;

    /// One request the fake API saw: path (with query) and User-Agent.
    type Hit = (String, Option<String>);
    type Routes = Arc<Mutex<HashMap<String, (u16, String)>>>;

    /// A fake GitHub releases API on 127.0.0.1.
    struct FakeGitHub {
        addr: SocketAddr,
        routes: Routes,
        hits: mpsc::UnboundedReceiver<Hit>,
    }

    impl FakeGitHub {
        async fn start() -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let routes: Routes = Arc::default();
            let (tx, hits) = mpsc::unbounded_channel();
            let served = routes.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (routes, tx) = (served.clone(), tx.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                            let path = req
                                .uri()
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default();
                            let agent = req
                                .headers()
                                .get(hyper::header::USER_AGENT)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string);
                            let route_key = req.uri().path().to_string();
                            let (status, body) = routes
                                .lock()
                                .expect("routes")
                                .get(&route_key)
                                .cloned()
                                .unwrap_or((404, r#"{"message":"Not Found"}"#.into()));
                            let _ = tx.send((path, agent));
                            async move {
                                Ok::<_, Infallible>(
                                    Response::builder()
                                        .status(status)
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from(body)))
                                        .expect("response"),
                                )
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
            Self { addr, routes, hits }
        }

        fn route(&self, path: &str, status: u16, body: impl ToString) {
            self.routes
                .lock()
                .expect("routes")
                .insert(path.to_string(), (status, body.to_string()));
        }

        fn latest(&self, status: u16, body: impl ToString) {
            self.route("/repos/o/r/releases/latest", status, body);
        }

        fn list(&self, body: impl ToString) {
            self.route("/repos/o/r/releases", 200, body);
        }

        fn settings(&self) -> UpdateSettings {
            UpdateSettings {
                api_base: format!("http://{}/", self.addr),
                repo: Some("o/r".into()),
                timeout: Duration::from_secs(5),
                ..UpdateSettings::default()
            }
        }

        async fn next_hit(&mut self) -> Hit {
            tokio::time::timeout(Duration::from_secs(10), self.hits.recv())
                .await
                .expect("a request")
                .expect("open")
        }
    }

    fn release(tag: &str, prerelease: bool) -> serde_json::Value {
        json!({"tag_name": tag, "html_url": format!("https://github.test/o/r/releases/tag/{tag}"),
               "prerelease": prerelease, "draft": false, "name": tag, "assets": []})
    }

    #[tokio::test]
    async fn newer_release_is_an_update() {
        let mut gh = FakeGitHub::start().await;
        gh.latest(200, release("v1.3.0", false));
        let checker = UpdateChecker::new("1.2.0", gh.settings());
        assert_eq!(checker.latest(), None);
        let info = checker.check_now().await;
        assert!(info.available);
        assert_eq!(info.latest_version.as_deref(), Some("v1.3.0"));
        assert_eq!(
            info.release_url.as_deref(),
            Some("https://github.test/o/r/releases/tag/v1.3.0")
        );
        assert_eq!(info.is_prerelease, Some(false));
        assert_eq!(info.check_error, None);
        assert!(info.checked_at.is_some());
        assert_eq!(checker.latest(), Some(info));
        let (path, agent) = gh.next_hit().await;
        assert_eq!(path, "/repos/o/r/releases/latest");
        assert!(
            agent.is_some_and(|a| a.starts_with("mcpproxy/1.2.0")),
            "User-Agent sent"
        );
    }

    #[tokio::test]
    async fn no_repository_means_no_check_and_another_product_is_refused() {
        let mut gh = FakeGitHub::start().await;
        gh.latest(200, release("v9.0.0", false));
        let unset = UpdateChecker::new(
            "0.1.0",
            UpdateSettings {
                repo: None,
                ..gh.settings()
            },
        );
        assert!(!unset.enabled());
        assert_eq!(unset.check_now().await, UpdateInfo::default());

        gh.route(
            "/repos/smart-mcp-proxy/mcpproxy-go/releases/latest",
            200,
            release("v0.11.2", false),
        );
        let go = UpdateChecker::new(
            "0.1.0",
            UpdateSettings {
                repo: Some("Smart-MCP-Proxy/mcpproxy-go".into()),
                ..gh.settings()
            },
        );
        let info = go.check_now().await;
        assert!(!info.available);
        assert_eq!(info.latest_version, None);
        assert!(
            info.check_error
                .as_deref()
                .is_some_and(|e| e.contains("another product")),
            "{info:?}"
        );
        // Neither checker asked the API anything.
        assert!(
            tokio::time::timeout(Duration::from_millis(200), gh.next_hit())
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn same_or_older_release_is_not_an_update() {
        let gh = FakeGitHub::start().await;
        gh.latest(200, release("v1.2.0", false));
        let info = UpdateChecker::new("v1.2.0", gh.settings())
            .check_now()
            .await;
        assert!(!info.available);
        assert_eq!(info.latest_version.as_deref(), Some("v1.2.0"));
        assert_eq!(info.check_error, None);

        gh.latest(200, release("1.1.9", false));
        let info = UpdateChecker::new("1.2.0", gh.settings()).check_now().await;
        assert!(!info.available);
        assert_eq!(info.latest_version.as_deref(), Some("1.1.9"));
    }

    #[tokio::test]
    async fn prereleases_count_only_when_allowed() {
        let mut gh = FakeGitHub::start().await;
        gh.latest(200, release("v1.2.0", false));
        gh.list(json!([
            {"tag_name": "v9.9.9", "draft": true, "prerelease": false},
            release("v1.3.0-rc.1", true),
            release("not-a-version", false),
            release("v1.2.0", false),
        ]));
        let stable = UpdateChecker::new("1.2.0", gh.settings()).check_now().await;
        assert!(!stable.available, "{stable:?}");
        assert_eq!(gh.next_hit().await.0, "/repos/o/r/releases/latest");

        let settings = UpdateSettings {
            allow_prerelease: true,
            ..gh.settings()
        };
        let pre = UpdateChecker::new("1.2.0", settings.clone())
            .check_now()
            .await;
        assert!(pre.available, "{pre:?}");
        assert_eq!(pre.latest_version.as_deref(), Some("v1.3.0-rc.1"));
        assert_eq!(pre.is_prerelease, Some(true));
        assert!(gh.next_hit().await.0.starts_with("/repos/o/r/releases?"));

        // A stable endpoint that answers with a prerelease is not trusted.
        gh.latest(200, release("v1.4.0-beta.1", true));
        let info = UpdateChecker::new("1.2.0", gh.settings()).check_now().await;
        assert!(
            !info.available && info.latest_version.is_none() && info.check_error.is_none(),
            "{info:?}"
        );

        // The final release beats its own release candidate.
        let info = UpdateChecker::new("1.3.0", settings).check_now().await;
        assert!(!info.available, "{info:?}");
    }

    #[tokio::test]
    async fn failures_set_check_error_and_keep_the_last_good_answer() {
        let gh = FakeGitHub::start().await;
        let checker = UpdateChecker::new("1.2.0", gh.settings());

        gh.latest(500, "oops");
        let info = checker.check_now().await;
        assert!(!info.available);
        assert_eq!(
            info.check_error.as_deref(),
            Some("GitHub API returned status 500")
        );
        assert!(info.checked_at.is_some());

        gh.latest(200, release("v1.5.0", false));
        let good = checker.check_now().await;
        assert!(good.available && good.check_error.is_none());

        gh.latest(200, "{not json");
        let info = checker.check_now().await;
        assert!(
            info.check_error
                .as_deref()
                .is_some_and(|e| e.starts_with("malformed GitHub API response")),
            "{info:?}"
        );
        assert!(info.available, "last good answer kept");
        assert_eq!(info.latest_version.as_deref(), Some("v1.5.0"));
        assert!(info.checked_at >= good.checked_at);

        gh.latest(200, release("nightly", false));
        let info = checker.check_now().await;
        assert_eq!(
            info.check_error.as_deref(),
            Some("invalid version tag \"nightly\"")
        );
        assert_eq!(info.latest_version.as_deref(), Some("v1.5.0"));

        gh.latest(403, r#"{"message":"API rate limit exceeded"}"#);
        assert_eq!(
            checker.check_now().await.check_error.as_deref(),
            Some("GitHub API returned status 403")
        );

        gh.latest(200, release("v1.6.0", false));
        let info = checker.check_now().await;
        assert_eq!(
            (info.latest_version.as_deref(), info.check_error),
            (Some("v1.6.0"), None),
            "recovers"
        );
    }

    #[tokio::test]
    async fn unreachable_api_is_a_check_error() {
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = closed.local_addr().expect("addr");
        drop(closed);
        let settings = UpdateSettings {
            api_base: format!("http://{addr}"),
            repo: Some("o/r".into()),
            timeout: Duration::from_secs(5),
            ..UpdateSettings::default()
        };
        let info = UpdateChecker::new("1.2.0", settings).check_now().await;
        assert!(!info.available);
        let error = info.check_error.expect("error");
        assert!(error.starts_with("GitHub API request failed"), "{error}");
        assert!(info.checked_at.is_some());
    }

    #[tokio::test]
    async fn disabled_or_development_builds_never_ask() {
        let mut gh = FakeGitHub::start().await;
        gh.latest(200, release("v9.0.0", false));
        let disabled = UpdateChecker::new(
            "1.2.0",
            UpdateSettings {
                disabled: true,
                ..gh.settings()
            },
        );
        assert!(!disabled.enabled());
        assert_eq!(disabled.check_now().await, UpdateInfo::default());
        let dev = UpdateChecker::new("development", gh.settings());
        assert!(!dev.enabled());
        assert_eq!(dev.check_now().await, UpdateInfo::default());
        Arc::new(dev)
            .spawn(CancellationToken::new())
            .await
            .expect("task ends at once");
        assert!(
            tokio::time::timeout(Duration::from_millis(200), gh.hits.recv())
                .await
                .is_err(),
            "no request made"
        );
        assert_eq!(
            serde_json::to_value(disabled.info()).expect("json"),
            json!({"available": false})
        );
    }

    #[tokio::test]
    async fn spawn_checks_at_start_then_periodically_until_shutdown() {
        let mut gh = FakeGitHub::start().await;
        gh.latest(200, release("v1.3.0", false));
        let settings = UpdateSettings {
            interval: Duration::from_millis(20),
            ..gh.settings()
        };
        let checker = Arc::new(UpdateChecker::new("1.2.0", settings));
        let shutdown = CancellationToken::new();
        let task = checker.clone().spawn(shutdown.clone());
        gh.next_hit().await;
        gh.next_hit().await;
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stops on shutdown")
            .expect("no panic");
        assert!(checker.latest().is_some_and(|i| i.available));
    }

    #[test]
    fn settings_from_the_environment() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            UpdateSettings::from_lookup(&env(&[])),
            UpdateSettings::default()
        );
        let s = UpdateSettings::from_lookup(&env(&[
            (ENV_API_BASE, "http://127.0.0.1:9/"),
            (ENV_ALLOW_PRERELEASE, "true"),
            (ENV_DISABLE, "true"),
        ]));
        assert_eq!(s.api_base, "http://127.0.0.1:9");
        assert!(s.allow_prerelease && s.disabled);
        assert_eq!(s.repo.as_deref(), DEFAULT_REPO);
        let s = UpdateSettings::from_lookup(&env(&[(ENV_REPO, " me/mcpproxy ")]));
        assert_eq!(s.repo.as_deref(), Some("me/mcpproxy"));
        assert_eq!(s.interval, Duration::from_secs(4 * 3600));
        assert_eq!(s.timeout, Duration::from_secs(10));
        let s =
            UpdateSettings::from_lookup(&env(&[(ENV_DISABLE, "1"), (ENV_ALLOW_PRERELEASE, "yes")]));
        assert!(
            !s.disabled && !s.allow_prerelease,
            "only `true` turns a flag on"
        );
        let _ = UpdateSettings::from_env();
    }

    #[test]
    fn info_serializes_like_the_rest_object() {
        let info = UpdateInfo {
            available: true,
            latest_version: Some("v1.3.0".into()),
            checked_at: Some(DateTime::from_timestamp(0, 0).expect("epoch")),
            ..UpdateInfo::default()
        };
        assert_eq!(
            serde_json::to_value(&info).expect("json"),
            json!({"available": true, "latest_version": "v1.3.0", "checked_at": "1970-01-01T00:00:00Z"})
        );
    }
}
