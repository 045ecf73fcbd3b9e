//! Malformed POST bodies on `/mcp` get JSON-RPC errors, not rmcp's `415 text/plain`.
//!
//! rmcp answers a body it cannot deserialize with `415 Unsupported Media Type` and a
//! plain-text message, although the media type was right. Before a JSON POST reaches rmcp
//! its body is read here (within the same size limit) and checked against the message type
//! rmcp itself parses: a body that is not JSON is answered `400` with the JSON-RPC parse
//! error (-32700), JSON that is no JSON-RPC message with invalid request (-32600), both as
//! `application/json` with `"id": null` (the id could not be read). Everything else passes on
//! unchanged, the body re-assembled.

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use rmcp::model::ClientJsonRpcMessage;
use serde_json::json;

use super::McpBody;
use super::fast::{MAX_BODY, accepts_json_and_sse, is_json};

/// JSON-RPC: the body is not JSON.
const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: JSON, but not a request, notification or response.
const INVALID_REQUEST: i64 = -32600;

/// What the check made of a request.
pub enum Checked {
    /// Not a JSON POST that rmcp would parse; body unread.
    Untouched(Request<Incoming>),
    /// A well-formed message, body read.
    Read(Request<Bytes>),
    /// Answered here: malformed, too large, or the body could not be read.
    Answered(Response<McpBody>),
}

/// Read and check `req`'s body when rmcp would parse it as a JSON-RPC message.
pub async fn check(req: Request<Incoming>) -> Checked {
    if !parsed_by_rmcp(&req) {
        return Checked::Untouched(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Checked::Answered(super::plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("Payload Too Large: request body exceeds {MAX_BODY} bytes"),
            ));
        }
        Err(e) => {
            return Checked::Answered(super::plain(
                StatusCode::BAD_REQUEST,
                format!("Bad Request: the request body could not be read: {e}"),
            ));
        }
    };
    match check_bytes(&bytes) {
        Some(refusal) => Checked::Answered(refusal),
        None => Checked::Read(Request::from_parts(parts, bytes)),
    }
}

/// The JSON-RPC error answering `body`, or `None` when it is a well-formed message.
pub fn check_bytes(body: &[u8]) -> Option<Response<McpBody>> {
    fault(body).map(|(code, message)| rpc_error(code, &message))
}

/// The JSON-RPC error code and message for a malformed `body`.
fn fault(body: &[u8]) -> Option<(i64, String)> {
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return Some((PARSE_ERROR, format!("Parse error: {e}"))),
    };
    match serde_json::from_value::<ClientJsonRpcMessage>(value) {
        Ok(_) => None,
        Err(e) => Some((
            INVALID_REQUEST,
            format!("Invalid Request: not a JSON-RPC 2.0 message ({e})"),
        )),
    }
}

/// A POST that passes rmcp's Accept and Content-Type checks, so rmcp would parse its body.
fn parsed_by_rmcp<B>(req: &Request<B>) -> bool {
    req.method() == Method::POST
        && accepts_json_and_sse(req.headers())
        && req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json)
}

fn rpc_error(code: i64, message: &str) -> Response<McpBody> {
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *resp.status_mut() = StatusCode::BAD_REQUEST;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &[u8]) -> Option<i64> {
        fault(body).map(|(code, _)| code)
    }

    #[test]
    fn not_json_is_a_parse_error_and_other_json_an_invalid_request() {
        assert_eq!(code(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#), None);
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            None
        );
        assert_eq!(code(b"{bad"), Some(PARSE_ERROR));
        assert_eq!(code(b""), Some(PARSE_ERROR));
        assert_eq!(code(br#"{"a":1}"#), Some(INVALID_REQUEST));
        assert_eq!(code(b"[1, 2]"), Some(INVALID_REQUEST));
        let refusal = check_bytes(b"{bad").expect("refused");
        assert_eq!(refusal.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            refusal.headers().get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static("application/json"))
        );
    }
}
