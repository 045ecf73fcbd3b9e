//! The optional Prometheus port (`metrics_listen`): `GET /metrics` on a listener of its own,
//! for a scraper that should not hold the API key. It serves nothing else, so it needs no
//! key: the text carries counts and timings, never arguments, results or secrets. The
//! Host/Origin rules of the main port apply ([`Boundary`]): a DNS-rebinding page cannot read
//! it, and a `metrics_listen` on every interface is reported like `listen` is.
//!
//! Answers: `GET`/`HEAD /metrics` → 200 in the exposition format; any other path → 404 and
//! any other method → 405, in the API's error envelope.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mcpproxy_api::ApiError;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::Boundary;
use super::conn::{self, Cap, Limits};
use crate::api::error::{self, Body};
use crate::app::App;

/// The exposition format's content type (also what `/metrics` on the main port sends).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The one path served.
const PATH: &str = "/metrics";

/// Accept connections on `listener` until shutdown and answer each request with the metrics.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    boundary: Boundary,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let boundary = Arc::new(boundary);
    let cap = Cap::new(&limits);
    let builder = Arc::new(conn::builder(&limits));
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let Some(permit) = cap.admit() else {
            conn::refuse_busy(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (app, boundary, builder) = (app.clone(), boundary.clone(), builder.clone());
        tokio::spawn(async move {
            // The main port's slow-client guard: a connection that sends nothing is closed.
            if !conn::first_bytes_arrive(&stream, limits.first_byte_timeout).await {
                return;
            }
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let response = answer(&app, &boundary, &request);
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

/// The answer to one request.
fn answer<B>(app: &App, boundary: &Boundary, request: &Request<B>) -> Response<Body> {
    if let Err(refusal) = boundary.check(request.uri(), request.headers()) {
        return error::response(&ApiError::forbidden(refusal.to_string()));
    }
    if request.uri().path() != PATH {
        return error::response(&ApiError::not_found(format!(
            "{} is not served here; this port serves only GET {PATH}",
            request.uri().path()
        )));
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return error::response(&error::from_status(
            405,
            format!("{} {PATH}: only GET and HEAD", request.method()),
        ));
    }
    let text = match crate::telemetry::metrics().render(&app.gauges()) {
        Ok(text) => text,
        Err(e) => return error::response(&ApiError::internal(e.to_string())),
    };
    let body = if request.method() == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(text)
    };
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .body(Full::new(body).map_err(|never| match never {}).boxed())
        .unwrap_or_default()
}
