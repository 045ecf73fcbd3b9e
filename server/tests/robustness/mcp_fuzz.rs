//! The `/mcp` request path under malformed input.
