//! The wire layer: domain values → the generated REST types (and request bodies → domain
//! values), one file per tag of the spec. Conversions only: no file here decides, stores or
//! masks anything (secrets are masked by `app`, for REST and MCP alike); errors become HTTP
//! errors in [`super::error`].

pub mod config;
pub mod connect;
pub mod inspect;
pub mod oauth;
pub mod ops;
pub mod registries;
pub mod scan;
pub mod server_edits;
pub mod servers;
pub mod status;
pub mod tokens;
pub mod tools;

/// A collection size as the API's `uint64`.
pub(crate) fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
