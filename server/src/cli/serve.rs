//! `mcpproxy serve`: load and resolve the configuration, start dropshot on a private port
//! and the front door on the public port and the unix socket, then wait for SIGINT/SIGTERM
//! and shut down in order (not ready → streams cancelled → listeners closed → dropshot
//! closed with a deadline → socket file removed). In stdio mode (`--stdio`, or `listen` of
//! `""`/`":0"`) there is no public port: MCP runs on stdin/stdout, and the process also
//! stops when the client closes stdin.

use std::sync::Arc;
use std::time::Duration;

use slog::{Drain, Logger, error, info, o, warn};
use tokio_util::sync::CancellationToken;

use super::{Cli, exit};
use crate::api::ServerCtx;
use crate::app::App;
use crate::config::{
    ApiKeySource, CliOverrides, ConfigError, ConfigStore, EnvOverrides, Listen,
    default_config_path, resolve,
};
use crate::events::EventBus;
use crate::front;

/// Largest request body the API accepts (config documents can be big).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// `serve` flags.
#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// TCP listen address (default 127.0.0.1:8080); overrides the file and MCPPROXY_LISTEN.
    #[arg(short = 'l', long)]
    pub listen: Option<String>,
    /// Serve MCP on stdin/stdout instead of TCP, for agents that spawn the proxy (the same
    /// as listen ":0"). The REST API stays reachable on the unix socket.
    #[arg(long, conflicts_with = "listen")]
    pub stdio: bool,
}

fn logger(level: &str) -> Logger {
    let level = match level {
        "trace" => slog::Level::Trace,
        "debug" => slog::Level::Debug,
        "warn" => slog::Level::Warning,
        "error" => slog::Level::Error,
        _ => slog::Level::Info,
    };
    let decorator = slog_term::TermDecorator::new().stderr().build();
    let drain = slog_term::FullFormat::new(decorator).build().fuse();
    let drain = slog_async::Async::new(drain).chan_size(4096).build().fuse();
    Logger::root(drain.filter_level(level).fuse(), o!())
}

fn config_exit_code(e: &ConfigError) -> i32 {
    match e {
        ConfigError::Permission { .. } => exit::PERMISSION,
        _ => exit::CONFIG,
    }
}

/// Run the server; returns the exit code.
pub fn run(cli: &Cli, args: &ServeArgs) -> i32 {
    let store = ConfigStore::new(cli.config.clone().unwrap_or_else(default_config_path));
    let config = match store.load_or_create() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mcpproxy: {e}");
            return config_exit_code(&e);
        }
    };
    let problems = crate::config::validate(&config);
    if !problems.is_empty() {
        eprintln!("mcpproxy: {}", ConfigError::Invalid(problems));
        return exit::CONFIG;
    }
    let overrides = CliOverrides {
        listen: if args.stdio {
            Some(":0".to_string())
        } else {
            args.listen.clone()
        },
        data_dir: cli.data_dir.clone(),
    };
    let loaded = match resolve(&store, config, &EnvOverrides::from_env(), &overrides) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mcpproxy: {e}");
            return config_exit_code(&e);
        }
    };
    let listen = match Listen::parse(&loaded.resolved.listen) {
        Ok(listen) => listen,
        Err(e) => {
            eprintln!("mcpproxy: {e}");
            return exit::CONFIG;
        }
    };
    let log = logger(
        cli.log_level
            .as_deref()
            .unwrap_or(&loaded.config.logging.level),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!(log, "cannot start the async runtime"; "error" => %e);
            return exit::GENERAL;
        }
    };
    let code = runtime.block_on(serve(log.clone(), store, loaded, listen));
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

/// Bind `listen`'s TCP port (`None` for stdio), or the exit code for why it cannot be bound.
async fn bind_tcp(
    log: &Logger,
    listen: &Listen,
    what: &str,
) -> Result<Option<tokio::net::TcpListener>, i32> {
    let Listen::Tcp { bind, .. } = listen else {
        return Ok(None);
    };
    tokio::net::TcpListener::bind(bind)
        .await
        .map(Some)
        .map_err(|e| {
            error!(log, "cannot listen"; "for" => what, "address" => bind, "error" => %e);
            match e.kind() {
                std::io::ErrorKind::AddrInUse => exit::PORT_IN_USE,
                std::io::ErrorKind::PermissionDenied => exit::PERMISSION,
                _ => exit::GENERAL,
            }
        })
}

async fn serve(
    log: Logger,
    store: ConfigStore,
    loaded: crate::config::LoadedConfig,
    listen: Listen,
) -> i32 {
    let resolved = loaded.resolved.clone();
    // Read once at start: the HTTP server's settings apply after a restart.
    let app_config = loaded.config.clone();
    let settings = crate::config::Settings::resolve(&app_config);
    // Traces (off unless configured); a broken endpoint is reported, never fatal.
    let tracing = crate::telemetry::trace::init(app_config.otel.as_ref()).unwrap_or_else(|e| {
        warn!(log, "traces are off"; "error" => %e);
        None
    });
    let bus = EventBus::new();
    let db_path = resolved.data_dir.join("mcpproxy.db");
    let storage = match open_storage(&log, &db_path, settings.history.into()).await {
        Ok(s) => Arc::new(s),
        Err(e) => {
            error!(log, "cannot open the database"; "path" => %db_path.display(), "error" => %e);
            return match e {
                crate::storage::StorageError::Locked(_) => exit::DB_LOCKED,
                _ => exit::GENERAL,
            };
        }
    };
    let app = Arc::new(App::new(
        bus,
        store,
        loaded.config,
        resolved.clone(),
        storage,
        log.clone(),
    ));
    let shutdown = CancellationToken::new();
    let internal_secret = hex::encode(rand::random::<[u8; 32]>());

    let api = match crate::api::api_description() {
        Ok(api) => api,
        Err(e) => {
            error!(log, "API description is inconsistent"; "error" => e);
            return exit::GENERAL;
        }
    };
    let cache = Arc::new(crate::mcp::ResponseCache::default());
    let ctx = ServerCtx {
        app: app.clone(),
        internal_secret: internal_secret.clone(),
        shutdown: shutdown.clone(),
        builtins: Arc::new(crate::mcp::Builtins::new(app.clone(), cache.clone())),
    };
    let dropshot_config = dropshot::ConfigDropshot {
        bind_address: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        default_request_body_max_bytes: MAX_BODY_BYTES,
        ..Default::default()
    };
    let dropshot_log = log.new(o!("component" => "dropshot"));
    let quiet = Logger::root(
        slog::LevelFilter::new(dropshot_log, slog::Level::Warning).fuse(),
        o!(),
    );
    let server = match dropshot::ServerBuilder::new(api, ctx, quiet)
        .config(dropshot_config)
        .start()
    {
        Ok(s) => s,
        Err(e) => {
            error!(log, "cannot start the API server"; "error" => %e);
            return exit::GENERAL;
        }
    };

    let mcp = crate::mcp::endpoint(app.clone(), cache.clone(), shutdown.clone());
    let limits = front::Limits {
        header_timeout: settings.http_header_timeout,
        first_byte_timeout: settings.http_first_byte_timeout,
        max_connections: settings.max_connections,
    };
    let front = front::FrontDoor::new(
        mcp,
        resolved.api_key.clone(),
        internal_secret,
        server.local_addr(),
        limits,
        shutdown.clone(),
    );
    // The public TCP port (none in stdio mode) and the Prometheus port when configured
    // (`metrics_listen`; validation refuses a value that is not host:port). A port that
    // cannot be bound stops the start.
    let metrics_listen = settings.metrics_listen.as_deref().map(Listen::parse);
    let bound = match bind_tcp(&log, &listen, "API and MCP").await {
        Ok(listener) => match metrics_listen {
            Some(Ok(metrics)) => bind_tcp(&log, &metrics, "metrics")
                .await
                .map(|metrics| (listener, metrics)),
            _ => Ok((listener, None)),
        },
        Err(code) => Err(code),
    };
    let (listener, metrics_listener) = match bound {
        Ok(listeners) => listeners,
        Err(code) => {
            let _ = tokio::time::timeout(Duration::from_secs(2), server.close()).await;
            return code;
        }
    };
    let metrics_addr = metrics_listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.to_string())
        .unwrap_or_default();
    let stdio = listener.is_none();
    let bound = listener.as_ref().and_then(|l| l.local_addr().ok());
    let public_addr = listener.as_ref().map(|_| {
        bound
            .map(|a| a.to_string())
            .unwrap_or_else(|| resolved.listen.clone())
    });
    if let Some(addr) = &public_addr {
        app.set_bound_listen(addr.clone());
    }
    let mut tasks = Vec::new();
    if let Some(listener) = listener {
        // Host and Origin allow-lists know the bound port (`listen` may say port 0).
        let boundary = front::Boundary::new(
            &resolved.listen,
            bound.map(|a| a.port()).unwrap_or_default(),
            &app_config.cors_allowed_origins,
        );
        tasks.push(tokio::spawn(front.clone().serve_tcp(listener, boundary)));
    }
    if let Some(metrics_listener) = metrics_listener {
        let boundary = front::Boundary::new(
            settings.metrics_listen.as_deref().unwrap_or_default(),
            metrics_listener
                .local_addr()
                .map(|a| a.port())
                .unwrap_or_default(),
            &[],
        );
        tasks.push(tokio::spawn(front::metrics_port::serve(
            app.clone(),
            metrics_listener,
            boundary,
            limits,
            shutdown.clone(),
        )));
    }
    if let Some(path) = &resolved.socket_path {
        match front::bind_unix_socket(path).await {
            Ok(l) => tasks.push(tokio::spawn(front.clone().serve_unix(l))),
            Err(front::SocketError::InUse(p)) => {
                error!(log, "another mcpproxy is serving on the socket"; "socket" => %p.display());
                shutdown.cancel();
                let _ = tokio::time::timeout(Duration::from_secs(2), server.close()).await;
                return exit::PORT_IN_USE;
            }
            Err(e) => warn!(log, "unix socket unavailable; serving without it"; "error" => %e),
        }
    }
    app.start();
    app.start_operations(Arc::new(crate::update::UpdateChecker::new(
        env!("CARGO_PKG_VERSION"),
        crate::update::UpdateSettings::from_env(),
    )));
    app.set_ready(true);
    if let Some(addr) = &public_addr
        && resolved.api_key_source == ApiKeySource::Generated
    {
        eprintln!(
            "API key was auto-generated and saved to {}:",
            app.config_path().display()
        );
        eprintln!(
            "\t{{\"api_key\": \"{}\", \"web_ui_url\": \"{}\"}}",
            resolved.api_key,
            crate::api::web_ui_url(addr, &resolved.api_key)
        );
    }
    let (listen_addr, swagger) = match public_addr {
        Some(addr) => {
            let swagger = format!("http://{}/swagger/", crate::api::display_listen(&addr));
            (addr, swagger)
        }
        None => ("stdin/stdout".to_string(), "on the unix socket".to_string()),
    };
    for exposure in app.exposures() {
        warn!(log, "{}", exposure.message; "fix" => exposure.action);
    }
    info!(log, "mcpproxy ready"; "listen" => &listen_addr, "socket" => resolved.socket_path.as_ref().map(|p| p.display().to_string()).unwrap_or_default(), "config" => %app.config_path().display(), "swagger" => swagger, "metrics" => metrics_addr);

    if stdio {
        let session = crate::mcp::serve_stdio(app.clone(), cache, shutdown.clone());
        tokio::select! {
            _ = wait_for_signal() => {}
            ended = session => match ended {
                Ok(()) => info!(log, "the MCP client closed stdin"),
                Err(e) => error!(log, "MCP over stdio ended"; "error" => %e),
            },
        }
    } else {
        wait_for_signal().await;
    }
    info!(log, "shutting down");
    app.set_ready(false);
    shutdown.cancel();
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
    }
    if tokio::time::timeout(Duration::from_secs(5), server.close())
        .await
        .is_err()
    {
        warn!(log, "API server did not close within 5 s");
    }
    app.shutdown().await;
    if let Some(tracing) = tracing {
        let _ = tokio::time::timeout(Duration::from_secs(5), tracing.shutdown()).await;
    }
    if let Some(path) = &resolved.socket_path {
        let _ = std::fs::remove_file(path);
    }
    0
}

/// How long a start waits for a database another process still holds (a previous instance
/// shutting down; the Go original waits 10 s on its bbolt lock).
const DB_LOCK_WAIT: Duration = Duration::from_secs(5);

/// Open the database, waiting up to [`DB_LOCK_WAIT`] while another process holds it.
async fn open_storage(
    log: &Logger,
    path: &std::path::Path,
    retention: crate::storage::Retention,
) -> Result<crate::storage::Storage, crate::storage::StorageError> {
    let deadline = tokio::time::Instant::now() + DB_LOCK_WAIT;
    let mut warned = false;
    loop {
        match crate::storage::Storage::open(path, retention) {
            Err(crate::storage::StorageError::Locked(_))
                if tokio::time::Instant::now() < deadline =>
            {
                if !warned {
                    warn!(log, "database is locked by another process; waiting up to 5 s"; "path" => %path.display());
                    warned = true;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            other => return other,
        }
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
