//! The `mcpproxy` binary.

fn main() {
    std::process::exit(mcpproxy::cli::run());
}
