//! The HTTP client of the OTLP exporter: the process's reqwest, driven by the tokio runtime.
//!
//! The SDK's batch processor exports from a thread of its own, outside the runtime, where a
//! reqwest future cannot run; each export is therefore spawned onto the runtime that set
//! tracing up and awaited from there (awaiting a join handle needs no runtime).

use bytes::Bytes;
use http::{Request, Response};
use opentelemetry_http::{HttpClient, HttpError};

/// How long one export may take.
const EXPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Largest collector answer read (OTLP answers are a few bytes).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// reqwest on the runtime that created it.
#[derive(Debug)]
pub(super) struct OtlpClient {
    client: reqwest::Client,
    runtime: Option<tokio::runtime::Handle>,
}

impl OtlpClient {
    /// A client on the current runtime (exports fail, and are dropped, outside of one).
    pub(super) fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(EXPORT_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            runtime: tokio::runtime::Handle::try_current().ok(),
        }
    }
}

async fn send(
    client: reqwest::Client,
    request: Request<Bytes>,
) -> Result<Response<Bytes>, HttpError> {
    let (parts, body) = request.into_parts();
    let answer = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await?;
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await?;
    if bytes.len() > MAX_ANSWER_BYTES {
        return Err("collector answer too large".into());
    }
    let mut response = Response::new(bytes);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

#[async_trait::async_trait]
impl HttpClient for OtlpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let Some(runtime) = &self.runtime else {
            return Err("no tokio runtime to export on".into());
        };
        runtime.spawn(send(self.client.clone(), request)).await?
    }
}
