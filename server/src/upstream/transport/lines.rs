//! The stdio transport's framing: one JSON-RPC message per line, both ways. Sending is
//! rmcp's; reading is ours, for one reason: rmcp parses every line as its whole message
//! enum, where a result is tried against each result type in turn (untagged), which costs
//! ~2.5 µs for the answer to a plain `tools/call`. A line that is exactly such an answer —
//! `jsonrpc`, `id` and a `result` holding `content` and at most `structuredContent`,
//! `isError` and `_meta` — is parsed here straight into a `CallToolResult` (~0.3 µs), which
//! is what rmcp makes of it too (`tests::the_short_way_agrees_with_rmcp`). Every other
//! line goes to rmcp's own codec, so it is read as rmcp reads it: non-standard
//! notifications ignored, unparsable lines dropped, well-formed JSON that is no message
//! answered with an Invalid Request error, over-long lines discarded.

use bytes::BytesMut;
use rmcp::{
    ErrorData, RoleClient,
    model::{CallToolResult, RequestId, ServerJsonRpcMessage, ServerResult},
    service::{RxJsonRpcMessage, TxJsonRpcMessage},
    transport::{
        Transport,
        async_rw::{
            AsyncRwTransport, DEFAULT_MAX_LINE_LENGTH, JsonRpcMessageCodec,
            JsonRpcMessageCodecError,
        },
    },
};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::PlainResponse;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
use tokio_util::codec::Decoder;

/// A client transport over a server's stdout (`R`) and stdin (`W`).
pub(crate) struct Lines<R, W: AsyncWrite + Send + Unpin + 'static> {
    read: BufReader<R>,
    /// The line being read; kept across a cancelled `receive`, which resumes it.
    line: Vec<u8>,
    /// Dropping the rest of an over-long line.
    discarding: bool,
    /// rmcp's reading of a line, for every line not taken the short way.
    codec: JsonRpcMessageCodec<RxJsonRpcMessage<RoleClient>>,
    /// rmcp's writing (its reading side is never used).
    write: AsyncRwTransport<RoleClient, tokio::io::Empty, W>,
}

impl<R: AsyncRead + Unpin, W: AsyncWrite + Send + Unpin + 'static> Lines<R, W> {
    /// Messages read from `read` and written to `write`.
    pub(crate) fn new(read: R, write: W) -> Self {
        Self {
            read: BufReader::new(read),
            line: Vec::new(),
            discarding: false,
            codec: JsonRpcMessageCodec::default(),
            write: AsyncRwTransport::new_client(tokio::io::empty(), write),
        }
    }

    /// Read up to the next newline into `self.line` (newline included); `Ok(false)` at the
    /// end of the stream. A line longer than rmcp's limit is dropped, as rmcp drops it.
    /// Cancel-safe: what was read stays in `self.line` for the next call.
    async fn read_line(&mut self) -> std::io::Result<bool> {
        loop {
            let available = self.read.fill_buf().await?;
            if available.is_empty() {
                return Ok(false);
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let take = newline.map_or(available.len(), |i| i + 1);
            let too_long = self.line.len().saturating_add(take) > DEFAULT_MAX_LINE_LENGTH;
            if too_long {
                self.line.clear();
            }
            if !self.discarding && !too_long {
                self.line.extend_from_slice(&available[..take]);
            }
            self.read.consume(take);
            match newline {
                // The end of a dropped line (rmcp logs it through `tracing`, which this
                // binary does not collect).
                Some(_) if self.discarding || too_long => self.discarding = false,
                Some(_) => return Ok(true),
                None => self.discarding |= too_long,
            }
        }
    }

    /// What the line just read holds: read the short way when it is a plain tool result,
    /// else rmcp's way.
    fn parse_line(&mut self) -> Line {
        let line = self.line.strip_suffix(b"\n").unwrap_or(&self.line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(message) = plain_tool_result(line) {
            return Line::Message(message);
        }
        let mut framed = BytesMut::from(&self.line[..]);
        match self.codec.decode(&mut framed) {
            Ok(Some(message)) => Line::Message(message),
            Ok(None) => Line::Skipped,
            Err(JsonRpcMessageCodecError::Serde(e)) => {
                use serde_json::error::Category;
                if matches!(e.classify(), Category::Data | Category::Io) {
                    // Well-formed JSON that is no message: the server is told, as rmcp
                    // tells it (unparsable input is ignored, so no error storm).
                    let reply = TxJsonRpcMessage::<RoleClient>::error(
                        ErrorData::invalid_request("Invalid request", None),
                        None,
                    );
                    tokio::spawn(self.write.send(reply));
                }
                Line::Skipped
            }
            Err(_) => Line::End,
        }
    }
}

/// What one line holds.
#[expect(
    clippy::large_enum_variant,
    reason = "made and matched once per line; boxing would cost every message an allocation"
)]
enum Line {
    /// A message.
    Message(ServerJsonRpcMessage),
    /// Nothing to pass on (junk, a notification rmcp ignores, an empty line).
    Skipped,
    /// Something that ends the stream, as it ends rmcp's.
    End,
}

/// The members a plain tool result may have; any other makes it something else (or
/// something rmcp may read as something else), which rmcp then reads.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[expect(dead_code, reason = "only which members are present matters")]
struct PlainResultMembers {
    content: IgnoredAny,
    #[serde(rename = "structuredContent", default)]
    structured_content: Option<IgnoredAny>,
    #[serde(rename = "isError", default)]
    is_error: Option<IgnoredAny>,
    #[serde(rename = "_meta", default)]
    meta: Option<IgnoredAny>,
}

/// `line` read the short way, when it is the answer to a plain `tools/call`.
fn plain_tool_result(line: &[u8]) -> Option<ServerJsonRpcMessage> {
    let response: PlainResponse<RequestId> = serde_json::from_slice(line).ok()?;
    serde_json::from_str::<PlainResultMembers>(response.result.get()).ok()?;
    let result: CallToolResult = serde_json::from_str(response.result.get()).ok()?;
    Some(ServerJsonRpcMessage::response(
        ServerResult::CallToolResult(result),
        response.id,
    ))
}

impl<R, W> Transport<RoleClient> for Lines<R, W>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.write.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            match self.read_line().await {
                Ok(true) => {}
                Ok(false) | Err(_) => return None,
            }
            let parsed = self.parse_line();
            self.line.clear();
            match parsed {
                Line::Message(message) => return Some(message),
                Line::Skipped => continue,
                Line::End => return None,
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.write.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// How rmcp reads `line`, written out in full (the message types have no `==`; the
    /// debug form names every variant, so a result read as another type differs).
    fn rmcp_reads(line: &str) -> String {
        shown(serde_json::from_str::<ServerJsonRpcMessage>(line).ok())
    }

    fn shown<T: std::fmt::Debug>(value: T) -> String {
        format!("{value:?}")
    }

    /// Every line the short way takes, rmcp reads as the same message; the lines it does
    /// not take are left to rmcp.
    #[test]
    fn the_short_way_agrees_with_rmcp() {
        let text = json!({"type": "text", "text": "Echo: hi"});
        let image = json!({"type": "image", "data": "aGk=", "mimeType": "image/png"});
        let link = json!({"type": "resource_link", "uri": "test://x", "name": "x"});
        let contents = [json!([]), json!([text]), json!([text, image, link])];
        let extras = [
            json!({}),
            json!({"isError": true}),
            json!({"isError": false, "structuredContent": {"a": 1}}),
            json!({"structuredContent": null}),
            json!({"_meta": {"k": "v"}, "structuredContent": [1, 2]}),
        ];
        let mut taken = 0;
        for id in [json!(7), json!("req-7")] {
            for content in &contents {
                for extra in &extras {
                    let mut result = extra.clone();
                    result["content"] = content.clone();
                    let line = json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string();
                    let short = plain_tool_result(line.as_bytes()).expect("taken");
                    assert_eq!(shown(Some(short)), rmcp_reads(&line), "{line}");
                    taken += 1;
                }
            }
        }
        assert_eq!(taken, 30);
        for other in [
            json!({"jsonrpc": "2.0", "id": 1, "result": {}}),
            json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": []}}),
            json!({"jsonrpc": "2.0", "id": 1, "result": {"content": [], "resultType": "complete"}}),
            json!({"jsonrpc": "2.0", "id": 1, "result": {"content": [], "task": {}}}),
            json!({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "nope"}]}}),
            json!({"jsonrpc": "2.0", "id": 1, "result": {"content": []}, "extra": 1}),
            json!({"jsonrpc": "1.0", "id": 1, "result": {"content": []}}),
            json!({"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "m"}}),
            json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}}),
        ] {
            assert!(
                plain_tool_result(other.to_string().as_bytes()).is_none(),
                "{other}"
            );
        }
    }

    /// What a transport reads from `input`, and the stream it writes to.
    async fn read_all(input: Vec<u8>) -> (Vec<ServerJsonRpcMessage>, tokio::io::DuplexStream) {
        let (mut ours, theirs) = tokio::io::duplex(1 << 16);
        let (read, write) = tokio::io::split(theirs);
        let mut lines = Lines::new(read, write);
        let writer = tokio::spawn(async move {
            tokio::io::AsyncWriteExt::write_all(&mut ours, &input)
                .await
                .expect("write");
            tokio::io::AsyncWriteExt::shutdown(&mut ours)
                .await
                .expect("shutdown");
            // Kept open for reading: the transport may answer on it.
            ours
        });
        let mut seen = Vec::new();
        while let Some(message) = lines.receive().await {
            seen.push(message);
        }
        (seen, writer.await.expect("join"))
    }

    /// Lines the short way does not take are read as rmcp reads them: junk and empty lines
    /// skipped, CRLF and a byte-order mark accepted, a notification of another protocol
    /// passed on as a custom one, all in order; JSON that is no message is answered with
    /// Invalid Request.
    #[tokio::test]
    async fn other_lines_are_read_as_rmcp_reads_them() {
        let answer = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#;
        let progress = r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}"#;
        let custom = r#"{"jsonrpc":"2.0","method":"lsp/junk"}"#;
        let input =
            format!("not json\n{progress}\r\n\u{feff}{answer}\n{custom}\n\n[1]\n{answer}\n");
        let (seen, written) = read_all(input.into_bytes()).await;
        let mut reply = String::new();
        let mut written = tokio::io::BufReader::new(written);
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            tokio::io::AsyncBufReadExt::read_line(&mut written, &mut reply),
        )
        .await
        .expect("answered in time")
        .expect("read");
        let reply: serde_json::Value = serde_json::from_str(&reply).expect("json");
        assert_eq!(reply["error"]["code"], -32600, "{reply}");
        let expected: Vec<String> = [progress, answer, custom, answer]
            .iter()
            .map(|l| rmcp_reads(l))
            .collect();
        let seen: Vec<String> = seen.into_iter().map(|m| shown(Some(m))).collect();
        assert_eq!(seen, expected);
    }

    /// A line past the limit is dropped whole, and reading goes on after it.
    #[tokio::test]
    async fn an_over_long_line_is_dropped_and_reading_goes_on() {
        let answer = r#"{"jsonrpc":"2.0","id":1,"result":{"content":[]}}"#;
        let mut input = vec![b'x'; DEFAULT_MAX_LINE_LENGTH + 10];
        input.push(b'\n');
        input.extend_from_slice(answer.as_bytes());
        input.push(b'\n');
        let (seen, _) = read_all(input).await;
        let seen: Vec<String> = seen.into_iter().map(|m| shown(Some(m))).collect();
        assert_eq!(seen, [rmcp_reads(answer)]);
    }
}
