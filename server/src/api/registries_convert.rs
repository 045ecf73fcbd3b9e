//! `/api/v1/registries`: the configured registries and their servers on the wire.

use mcpproxy_api::{ApiError, types};

use super::convert::count;
use crate::app::{Registry, RegistryError, RegistryServer};

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound(_) => ApiError::not_found(e.to_string()),
            RegistryError::NoServersUrl(_) => ApiError::bad_request(e.to_string()),
            RegistryError::Unavailable { .. } => ApiError::new(
                dropshot::ErrorStatusCode::BAD_GATEWAY,
                mcpproxy_api::codes::INTERNAL_ERROR,
                e.to_string(),
            ),
        }
    }
}

/// `GET /api/v1/registries`.
pub fn list(registries: Vec<Registry>) -> types::RegistryListResponse {
    let registries: Vec<types::Registry> = registries
        .into_iter()
        .map(|r| types::Registry {
            id: r.id,
            name: r.name,
            description: r.description,
            url: r.url,
            servers_url: r.servers_url,
            tags: r.tags,
            protocol: r.protocol,
            count: r.count,
        })
        .collect();
    types::RegistryListResponse {
        success: true,
        data: types::RegistryList {
            total: count(registries.len()),
            registries,
        },
    }
}

/// One listed server on the wire.
pub fn server(s: RegistryServer) -> types::RegistryServer {
    types::RegistryServer {
        id: s.id,
        name: s.name,
        description: s.description,
        version: s.version,
        url: s.url,
        protocol: s.protocol,
        command: s.command,
        args: s.args,
    }
}
