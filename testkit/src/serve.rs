//! The one way a test or bench starts `mcpproxy serve`: over a directory holding its config
//! (`mcp_config.json`) and data (`data/`), with an environment that cannot leak in from the
//! shell running the suite.

use std::path::Path;

use tokio::process::Command;

/// `bin serve` over `dir`'s config and data: `HOME` is `dir`, the `MCPPROXY_*` overrides of
/// the key, listen address and data dir are removed, the update check is off (no test
/// reaches the internet; a test that wants it sets it back, against a local server), and the
/// process dies with its handle. The caller sets up stdio and spawns.
pub fn serve_command(bin: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .arg("--config")
        .arg(dir.join("mcp_config.json"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("MCPPROXY_API_KEY")
        .env_remove("MCPPROXY_LISTEN")
        .env_remove("MCPPROXY_DATA")
        .env("HOME", dir)
        .env("MCPPROXY_DISABLE_AUTO_UPDATE", "true")
        .kill_on_drop(true);
    cmd
}
