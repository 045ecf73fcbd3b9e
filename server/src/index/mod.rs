//! Tool search: BM25F ranking over the tools of every upstream MCP server,
//! backing the `retrieve_tools` tool.
//!
//! # What it owns
//! An in-memory inverted index ([`ToolIndex`]) over [`ToolDoc`]s. It is
//! rebuilt at start from the live tool lists and kept current per server:
//! [`ToolIndex::replace_server`] and [`ToolIndex::remove_server`] touch only
//! that server's tools and adjust the global statistics (document count,
//! average field lengths, document frequencies) incrementally.
//!
//! Ranking is BM25F (k1 = 1.2, b = 0.75) over four weighted fields: tool name
//! (3.0), server name (1.5), description (1.0), and parameter names plus
//! descriptions from the input schema's `properties`, top level and one
//! nested level (0.7). Queries get light stemming, stop-word removal and
//! synonym expansion; a query equal to a tool's name or `server:name` earns a
//! small bonus.
//!
//! # Invariants
//! - `search` is deterministic: equal scores are ordered by (server, name).
//! - An index built incrementally ranks exactly like one built from scratch
//!   with the same tools.
//! - Nothing on the search or update path panics or indexes unchecked; every
//!   input (1 MB descriptions, emoji, odd schemas) costs bounded work.
//! - A (server, name) pair is indexed at most once.
//!
//! # What it does not do
//! No persistence, no locking (callers wrap it, e.g. in an `RwLock`; it is
//! `Send + Sync`), no embeddings or fuzzy/typo matching, no access control or
//! quarantine filtering: callers drop hits they may not show.

mod bm25;
mod fields;
mod postings;
mod query;
mod stem;
mod synonyms;
mod tokenize;
mod tool_index;
mod types;

#[cfg(test)]
pub(crate) mod eval;

pub use tool_index::ToolIndex;
pub use types::{SearchHit, ToolDoc};
