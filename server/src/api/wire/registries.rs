//! `/api/v1/registries`: the configured registries and their servers on the wire.

use mcpproxy_api::types;

use super::count;
use crate::app::{Registry, RegistryServer};

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
