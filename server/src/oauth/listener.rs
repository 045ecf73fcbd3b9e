//! The loopback redirect listener: a tiny HTTP/1.1 server on 127.0.0.1 (a random port, or
//! the configured `redirect_port`) that takes the browser's `GET /callback?code=…&state=…`,
//! hands the parameters to the login it belongs to, and answers with a page saying whether
//! signing in worked ("you can close this tab"). It stops after the callback of its login
//! or when the login expires.

use std::collections::HashMap;
use std::future::Future;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::OAuthError;

/// The callback path.
pub const CALLBACK_PATH: &str = "/callback";

/// Largest request head read.
const MAX_HEAD: usize = 16 * 1024;

/// Bind the listener; it and its redirect URI.
pub async fn bind(port: Option<u16>) -> Result<(TcpListener, String), OAuthError> {
    let listener = TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
        .await
        .map_err(|e| OAuthError::Listener(e.to_string()))?;
    let port = listener
        .local_addr()
        .map_err(|e| OAuthError::Listener(e.to_string()))?
        .port();
    Ok((listener, format!("http://127.0.0.1:{port}{CALLBACK_PATH}")))
}

/// What the login said about a callback.
pub enum Outcome {
    /// Signed in.
    Done,
    /// The login failed for good (the listener stops).
    Failed(String),
    /// Not this login's callback (wrong state); keep listening.
    NotOurs,
}

/// Serve callbacks until `handle` says the login is over or `stop` fires.
pub fn serve<F, Fut>(listener: TcpListener, stop: CancellationToken, handle: F)
where
    F: Fn(HashMap<String, String>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => return,
                accepted = listener.accept() => accepted,
            };
            let Ok((stream, _)) = accepted else { continue };
            if one(stream, &handle).await {
                stop.cancel();
                return;
            }
        }
    });
}

/// Answer one connection; whether the login is over.
async fn one<F, Fut>(mut stream: TcpStream, handle: &F) -> bool
where
    F: Fn(HashMap<String, String>) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let Some(target) = read_target(&mut stream).await else {
        return false;
    };
    let Ok(url) = reqwest::Url::parse(&format!("http://127.0.0.1{target}")) else {
        let _ = respond(&mut stream, 400, "Bad request", "The request is not valid.").await;
        return false;
    };
    if url.path() != CALLBACK_PATH {
        let _ = respond(&mut stream, 404, "Not found", "Nothing here.").await;
        return false;
    }
    let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    match handle(params).await {
        Outcome::Done => {
            let _ = respond(
                &mut stream,
                200,
                "Signed in",
                "mcpproxy is signed in to the server. You can close this tab.",
            )
            .await;
            true
        }
        Outcome::Failed(reason) => {
            let _ = respond(&mut stream, 400, "Sign-in failed", &reason).await;
            true
        }
        Outcome::NotOurs => {
            let _ = respond(
                &mut stream,
                400,
                "Sign-in failed",
                "This response does not belong to a login in progress.",
            )
            .await;
            false
        }
    }
}

/// The request target of a `GET`, if the head is one.
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    let read = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Some(())
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .ok()??;
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next()?.split(' ');
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_string)
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    title: &str,
    message: &str,
) -> std::io::Result<()> {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{}</p></body></html>",
        escape(message)
    );
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
