//! `GET /metrics`: the Prometheus text exposition of `telemetry::metrics`, behind the API
//! key like `/api/v1` (header `X-API-Key` or `?apikey=`, which Prometheus sends through a
//! scrape job's `params`). Unpublished: it is not part of the REST contract.

use dropshot::{ApiDescription, RequestContext, endpoint};
use http::Response;
use mcpproxy_api::{ApiError, Security};

use super::{ServerCtx, auth};

use crate::front::metrics_port::CONTENT_TYPE;

/// Register `/metrics`.
pub fn register(
    api: &mut ApiDescription<ServerCtx>,
) -> Result<(), dropshot::ApiDescriptionRegisterError> {
    api.register(metrics_get)
}

#[endpoint { method = GET, path = "/metrics", unpublished = true }]
async fn metrics_get(
    rqctx: RequestContext<ServerCtx>,
) -> Result<Response<dropshot::Body>, ApiError> {
    auth::authorize(rqctx.context(), &rqctx.request, Security::ApiKey)?;
    let gauges = rqctx.context().app.gauges();
    let text = crate::telemetry::metrics()
        .render(&gauges)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
        .body(dropshot::Body::from(text))
        .map_err(|e| ApiError::internal(format!("cannot build response: {e}")))
}
