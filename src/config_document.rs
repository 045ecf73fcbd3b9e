//! `ConfigDocument`: a whole `mcp_config.json` as a JSON object.
//!
//! It is hand-written rather than generated because its schema must stay a named component
//! (`#/components/schemas/ConfigDocument`) while its Rust form is an open map: the proxy
//! keeps keys it does not know, so a user's file never loses data.

use schemars::JsonSchema;
use schemars::r#gen::SchemaGenerator;
use schemars::schema::{InstanceType, Metadata, ObjectValidation, Schema, SchemaObject};
use serde::{Deserialize, Serialize};

/// Description shared by the spec and the schema below (the drift test compares them).
const DESCRIPTION: &str = "A complete `mcp_config.json` document. Known keys: listen, data_dir, api_key, enable_socket, socket_path, mcpServers (array of {name, protocol, command, args, env, headers, url, working_dir, enabled, quarantined, created, updated, isolation, oauth}), top_k, tools_limit, tool_response_limit, call_tool_timeout, environment, logging, docker_isolation, read_only_mode, disable_management, allow_server_add, allow_server_remove, history_max_calls, history_max_age, history_max_sessions, cors_allowed_origins, http_header_timeout, http_first_byte_timeout, max_connections, require_mcp_auth, metrics_listen (host:port of a second listener serving only GET /metrics, without the key), otel ({endpoint, service_name}: OTLP trace export). Unknown keys are kept.";

/// A complete configuration document, keys in file order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConfigDocument(pub serde_json::Map<String, serde_json::Value>);

impl JsonSchema for ConfigDocument {
    fn schema_name() -> String {
        "ConfigDocument".to_string()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        Schema::Object(SchemaObject {
            metadata: Some(Box::new(Metadata {
                description: Some(DESCRIPTION.to_string()),
                ..Default::default()
            })),
            instance_type: Some(InstanceType::Object.into()),
            object: Some(Box::new(ObjectValidation {
                additional_properties: Some(Box::new(Schema::Bool(true))),
                ..Default::default()
            })),
            ..Default::default()
        })
    }
}
