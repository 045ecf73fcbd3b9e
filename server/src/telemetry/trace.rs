//! OpenTelemetry traces: off unless `otel.endpoint` or `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set; then spans go over OTLP/HTTP (protobuf) to the collector.
//!
//! The trace of a proxied call, in three hooks:
//! - every `/mcp` request is one server span ([`mcp_request`]), a child of the client's W3C
//!   `traceparent` header when it sends one; its context rides in the request's extensions
//!   ([`TraceParent`]), where the MCP handler finds it (rmcp hands the request's parts on);
//! - every upstream tool call is one client span ([`upstream_call`]), a child of the
//!   request's `_meta.traceparent` (the 2026-07-28 way to send trace context) when it has
//!   one, else of the `/mcp` request's span;
//! - while that span is current, [`upstream_meta`] gives the `_meta` the upstream request
//!   carries, with the span's `traceparent`, and the HTTP transports copy it into the
//!   request's `traceparent` header ([`traceparent_header`]) — so stdio upstreams see the
//!   trace in `_meta`, HTTP ones in both.
//!
//! When tracing is off every hook is a no-op: nothing is parsed, nothing is added.

use std::collections::HashMap;
use std::future::Future;
use std::sync::OnceLock;

use http::{HeaderMap, HeaderValue, Request, Response};
use opentelemetry::context::FutureExt as _;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanKind, Status, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage, MetaObject};

use crate::config::OtelConfig;

/// The standard variable that turns tracing on without a config entry.
const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The W3C header and `_meta` key.
const TRACEPARENT: &str = "traceparent";
/// Its companion.
const TRACESTATE: &str = "tracestate";
/// The instrumentation scope of the proxy's spans.
const SCOPE: &str = "mcpproxy";

static TRACER: OnceLock<SdkTracer> = OnceLock::new();

/// Why tracing could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The exporter refused its configuration (e.g. an endpoint that is not a URL).
    #[error("cannot set up the OTLP exporter: {0}")]
    Exporter(String),
    /// The process's tracer was set up already.
    #[error("tracing is already set up")]
    AlreadySet,
}

/// The running trace pipeline; [`Tracing::shutdown`] exports what is still buffered.
#[derive(Debug)]
pub struct Tracing {
    provider: SdkTracerProvider,
}

impl Tracing {
    /// Export the buffered spans and stop (off the async threads: the SDK blocks).
    pub async fn shutdown(self) {
        let provider = self.provider;
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
}

/// Set tracing up from the `otel` section (or the environment). `None` when it is off.
/// Must run inside the tokio runtime: the exporter sends through it.
pub fn init(config: Option<&OtelConfig>) -> Result<Option<Tracing>, TraceError> {
    let defaults = OtelConfig::default();
    let config = config.unwrap_or(&defaults);
    let url = config.traces_url();
    let from_env = std::env::var(ENDPOINT_VAR).is_ok_and(|v| !v.trim().is_empty());
    if url.is_none() && !from_env {
        return Ok(None);
    }
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_http_client(super::otlp_client::OtlpClient::new());
    if let Some(url) = url {
        builder = builder.with_endpoint(url);
    }
    let exporter = builder
        .build()
        .map_err(|e| TraceError::Exporter(e.to_string()))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(config.service_name().to_string())
                .build(),
        )
        .build();
    TRACER
        .set(provider.tracer(SCOPE))
        .map_err(|_| TraceError::AlreadySet)?;
    Ok(Some(Tracing { provider }))
}

/// Whether spans are recorded.
pub fn enabled() -> bool {
    TRACER.get().is_some()
}

/// The span a request continues: the client's, or the proxy's own `/mcp` request span.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceParent(SpanContext);

impl TraceParent {
    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        self.0.trace_id().to_string()
    }

    fn context(&self) -> Context {
        Context::new().with_remote_span_context(self.0.clone())
    }
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct Meta<'a>(&'a MetaObject);

impl Extractor for Meta<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => self.0.get_traceparent(),
            TRACESTATE => self.0.get_tracestate(),
            _ => None,
        }
    }
    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

fn extract(carrier: &dyn Extractor) -> Option<TraceParent> {
    let cx = TraceContextPropagator::new().extract(carrier);
    let span = cx.span().span_context().clone();
    span.is_valid().then_some(TraceParent(span))
}

/// The client's trace context in a request's `_meta` (`traceparent`, `tracestate`), when
/// tracing is on and it is valid.
pub fn from_meta(meta: Option<&MetaObject>) -> Option<TraceParent> {
    if !enabled() {
        return None;
    }
    extract(&Meta(meta?))
}

/// Serve one `/mcp` request inside its own server span (when tracing is on): a child of the
/// client's `traceparent` header, its context left in the request's extensions for the
/// MCP handler.
pub async fn mcp_request<B, R, F, Fut>(mut req: Request<B>, serve: F) -> Response<R>
where
    F: FnOnce(Request<B>) -> Fut,
    Fut: Future<Output = Response<R>>,
{
    let Some(tracer) = TRACER.get() else {
        return serve(req).await;
    };
    let parent = extract(&Headers(req.headers()))
        .map(|p| p.context())
        .unwrap_or_default();
    let span = tracer
        .span_builder(format!("{} {}", req.method(), req.uri().path()))
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", req.method().to_string()),
            KeyValue::new("url.path", req.uri().path().to_string()),
        ])
        .start_with_context(tracer, &parent);
    let cx = parent.with_span(span);
    req.extensions_mut()
        .insert(TraceParent(cx.span().span_context().clone()));
    let resp = serve(req).with_context(cx.clone()).await;
    let span = cx.span();
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(resp.status().as_u16()),
    ));
    if resp.status().is_server_error() {
        span.set_status(Status::error(resp.status().to_string()));
    }
    span.end();
    resp
}

/// The `/mcp` request span a handler's request belongs to, from rmcp's request extensions
/// (which hold the HTTP request's parts).
pub fn of_request(extensions: &rmcp::model::Extensions) -> Option<TraceParent> {
    extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<TraceParent>())
        .cloned()
}

/// One upstream tool call's span; [`CallSpan::run`] makes it current, [`CallSpan::end`]
/// closes it.
#[derive(Debug, Default)]
pub struct CallSpan(Option<Context>);

/// Open the span of a call of `tool` on `server`, a child of `parent`.
pub fn upstream_call(parent: Option<&TraceParent>, server: &str, tool: &str) -> CallSpan {
    let Some(tracer) = TRACER.get() else {
        return CallSpan(None);
    };
    let parent = parent.map(TraceParent::context).unwrap_or_default();
    let span = tracer
        .span_builder(format!("tools/call {server}:{tool}"))
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("mcp.method.name", "tools/call"),
            KeyValue::new("gen_ai.tool.name", tool.to_string()),
            KeyValue::new("mcpproxy.server", server.to_string()),
        ])
        .start_with_context(tracer, &parent);
    CallSpan(Some(parent.with_span(span)))
}

impl CallSpan {
    /// Run `work` with this span current (so [`upstream_meta`] sees it).
    pub async fn run<F: Future>(&self, work: F) -> F::Output {
        match &self.0 {
            Some(cx) => work.with_context(cx.clone()).await,
            None => work.await,
        }
    }

    /// Close the span, as failed with `error` when there is one.
    pub fn end(self, error: Option<String>) {
        let Some(cx) = self.0 else { return };
        let span = cx.span();
        if let Some(error) = error {
            span.set_status(Status::error(error));
        }
        span.end();
    }
}

/// The `_meta` of an upstream request made while a call span is current: its
/// `traceparent` (and `tracestate`). `None` when tracing is off or no span is current.
pub fn upstream_meta() -> Option<rmcp::model::RequestMetaObject> {
    if !enabled() {
        return None;
    }
    let cx = Context::current();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut fields: HashMap<String, String> = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut fields);
    let mut meta = MetaObject::new();
    meta.set_traceparent(fields.remove(TRACEPARENT)?);
    if let Some(state) = fields.remove(TRACESTATE).filter(|s| !s.is_empty()) {
        meta.set_tracestate(state);
    }
    Some(rmcp::model::RequestMetaObject(meta))
}

/// The `traceparent` header for an upstream HTTP request: the one its `tools/call` carries
/// in `_meta` (put there by [`upstream_meta`]).
pub fn traceparent_header(
    message: &ClientJsonRpcMessage,
) -> Option<(http::HeaderName, HeaderValue)> {
    let JsonRpcMessage::Request(request) = message else {
        return None;
    };
    let ClientRequest::CallToolRequest(call) = &request.request else {
        return None;
    };
    let value = call.params.meta.as_ref()?.0.get_traceparent()?;
    header_value(value)
}

/// The same for a request whose params are already JSON (the direct HTTP lane).
pub fn traceparent_header_of_params(
    params: &serde_json::Value,
) -> Option<(http::HeaderName, HeaderValue)> {
    header_value(params.get("_meta")?.get(TRACEPARENT)?.as_str()?)
}

fn header_value(value: &str) -> Option<(http::HeaderName, HeaderValue)> {
    let value = HeaderValue::from_str(value).ok()?;
    Some((http::HeaderName::from_static(TRACEPARENT), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_traceparent_is_read_and_a_bad_one_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert(
            TRACEPARENT,
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        assert_eq!(
            extract(&Headers(&headers)).map(|p| p.trace_id()).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        headers.insert(TRACEPARENT, HeaderValue::from_static("00-zz-00-01"));
        assert_eq!(extract(&Headers(&headers)), None);
    }

    #[test]
    fn the_lane_reads_the_traceparent_from_meta() {
        let params = serde_json::json!({"name": "x", "_meta": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}});
        let (name, value) = traceparent_header_of_params(&params).expect("header");
        assert_eq!(name.as_str(), "traceparent");
        assert!(value.to_str().is_ok_and(|v| v.contains("4bf92f35")));
        assert!(traceparent_header_of_params(&serde_json::json!({"name": "x"})).is_none());
    }
}
