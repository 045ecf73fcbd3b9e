//! Where things are: the workspace root, the in-tree `mcp-fixture` binary (built next to
//! the test or bench binary) and what `.ci/install-test-deps` installed under `.harness/`.

use std::path::{Path, PathBuf};

/// The workspace root (this crate's parent directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The in-tree fixture MCP server binary: `MCP_FIXTURE_BIN`, or `mcp-fixture` in the target
/// directory of the running test or bench (`target/<profile>/deps/<exe>` → `target/<profile>`).
/// Panics naming the fix when it is missing.
pub fn fixture_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MCP_FIXTURE_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("mcp-fixture");
    assert!(
        bin.exists(),
        "fixture binary missing at {}: run `cargo build --workspace` first",
        bin.display()
    );
    bin
}

/// `relative` under the workspace's `.harness/` (what `.ci/install-test-deps` installs);
/// panics naming `what` and the fix when it is missing.
pub fn harness_file(relative: &str, what: &str) -> PathBuf {
    let path = workspace_root().join(".harness").join(relative);
    assert!(
        path.exists(),
        "{what} missing at {}: run .ci/install-test-deps",
        path.display()
    );
    path
}

/// The npm `@modelcontextprotocol/server-everything` entry point (`MCP_EVERYTHING_JS`, or
/// the one `.ci/install-test-deps` installed); panics naming the fix when it is missing.
pub fn everything_js() -> PathBuf {
    if let Some(p) = std::env::var_os("MCP_EVERYTHING_JS") {
        return PathBuf::from(p);
    }
    harness_file(
        "node_modules/@modelcontextprotocol/server-everything/dist/index.js",
        "server-everything",
    )
}
