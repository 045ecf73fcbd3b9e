//! Swagger UI at `/swagger/`, its assets embedded in the binary (works with no internet),
//! and `/swagger/swagger.yaml`, the exact spec file; and `/ui/`, the web control panel's
//! embedded files ([`crate::ui`]). The Swagger page has no
//! inline script (its set-up is `swagger-initializer.js`), so the front door's
//! Content-Security-Policy can allow only the proxy's own scripts.

use dropshot::{ApiDescription, Path, RequestContext, endpoint};
use http::Response;
use mcpproxy_api::ApiError;
use schemars::JsonSchema;
use serde::Deserialize;

use super::ServerCtx;

const INDEX_HTML: &[u8] = include_bytes!("../../assets/swagger-ui/index.html");
const BUNDLE_JS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js");
const CSS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-ui.css");
const INITIALIZER_JS: &[u8] = include_bytes!("../../assets/swagger-ui/swagger-initializer.js");

/// Register the Swagger endpoints.
pub fn register(
    api: &mut ApiDescription<ServerCtx>,
) -> Result<(), dropshot::ApiDescriptionRegisterError> {
    api.register(swagger_asset)?;
    api.register(swagger_root)?;
    api.register(ui_asset)?;
    Ok(())
}

#[derive(Deserialize, JsonSchema)]
struct AssetPath {
    path: Vec<String>,
}

fn respond(
    status: u16,
    content_type: &str,
    body: dropshot::Body,
) -> Result<Response<dropshot::Body>, ApiError> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(body)
        .map_err(|e| ApiError::internal(format!("cannot build response: {e}")))
}

fn redirect(to: &str) -> Result<Response<dropshot::Body>, ApiError> {
    Response::builder()
        .status(302)
        .header(http::header::LOCATION, to)
        .body(dropshot::Body::empty())
        .map_err(|e| ApiError::internal(format!("cannot build response: {e}")))
}

#[endpoint { method = GET, path = "/swagger/{path:.*}", unpublished = true }]
async fn swagger_asset(
    _rqctx: RequestContext<ServerCtx>,
    path: Path<AssetPath>,
) -> Result<Response<dropshot::Body>, ApiError> {
    let path = path.into_inner().path.join("/");
    match path.as_str() {
        "" | "index.html" => respond(
            200,
            "text/html; charset=utf-8",
            bytes::Bytes::from_static(INDEX_HTML).into(),
        ),
        "swagger-ui-bundle.js" => respond(
            200,
            "application/javascript",
            bytes::Bytes::from_static(BUNDLE_JS).into(),
        ),
        "swagger-initializer.js" => respond(
            200,
            "application/javascript",
            bytes::Bytes::from_static(INITIALIZER_JS).into(),
        ),
        "swagger-ui.css" => respond(200, "text/css", bytes::Bytes::from_static(CSS).into()),
        "swagger.yaml" => respond(200, "application/yaml", mcpproxy_api::SPEC_YAML.into()),
        other => Err(ApiError::not_found(format!(
            "no such Swagger asset: {other}"
        ))),
    }
}

#[endpoint { method = GET, path = "/swagger", unpublished = true }]
async fn swagger_root(
    _rqctx: RequestContext<ServerCtx>,
) -> Result<Response<dropshot::Body>, ApiError> {
    redirect("/swagger/")
}

#[endpoint { method = GET, path = "/ui/{path:.*}", unpublished = true }]
async fn ui_asset(
    rqctx: RequestContext<ServerCtx>,
    path: Path<AssetPath>,
) -> Result<Response<dropshot::Body>, ApiError> {
    let path = path.into_inner().path.join("/");
    let header = |name| {
        rqctx
            .request
            .headers()
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
    };
    let resp = crate::ui::respond(
        &path,
        header(http::header::ACCEPT_ENCODING),
        header(http::header::IF_NONE_MATCH),
    )
    .ok_or_else(|| ApiError::not_found(format!("no such file of the web UI: {path}")))?;
    Ok(resp.map(dropshot::Body::from))
}
