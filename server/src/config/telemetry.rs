//! The `otel` section: where OpenTelemetry traces go. Absent (the default) means no traces,
//! unless the standard `OTEL_EXPORTER_OTLP_ENDPOINT` is set in the environment.

use serde::{Deserialize, Serialize};

/// The `service.name` of the proxy's spans when `otel.service_name` is not set.
pub const DEFAULT_OTEL_SERVICE_NAME: &str = "mcpproxy";

/// `otel`: OTLP/HTTP (protobuf) trace export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtelConfig {
    /// The collector's base URL (`http://localhost:4318`); spans are posted to
    /// `{endpoint}/v1/traces` (a URL already ending in `/v1/traces` is used as it is).
    /// Empty or absent: `OTEL_EXPORTER_OTLP_ENDPOINT` decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `service.name` of the spans (default `mcpproxy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
}

impl OtelConfig {
    /// The service name spans carry.
    pub fn service_name(&self) -> &str {
        self.service_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(DEFAULT_OTEL_SERVICE_NAME)
    }

    /// The traces URL, when an endpoint is configured.
    pub fn traces_url(&self) -> Option<String> {
        let base = self
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())?;
        Some(if base.trim_end_matches('/').ends_with("/v1/traces") {
            base.to_string()
        } else {
            format!("{}/v1/traces", base.trim_end_matches('/'))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        let url = |e: &str| {
            OtelConfig {
                endpoint: Some(e.into()),
                service_name: None,
            }
            .traces_url()
        };
        assert_eq!(
            url("http://c:4318").as_deref(),
            Some("http://c:4318/v1/traces")
        );
        assert_eq!(
            url("http://c:4318/").as_deref(),
            Some("http://c:4318/v1/traces")
        );
        assert_eq!(
            url("http://c/v1/traces").as_deref(),
            Some("http://c/v1/traces")
        );
        assert_eq!(url(" "), None);
        assert_eq!(OtelConfig::default().service_name(), "mcpproxy");
    }
}
