//! Load: many concurrent MCP sessions and `/events` clients.
