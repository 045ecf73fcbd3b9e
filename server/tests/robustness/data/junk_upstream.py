"""A stdio MCP server that misbehaves on request, for mcpproxy's robustness tests.

Speaks just enough MCP (initialize, tools/list, tools/call) by hand, so it can also write
what no SDK would: garbage lines, invalid UTF-8, enormous lines, answers with wrong ids,
deeply nested JSON, floods of notifications, and requests to the client. stdlib only.
Flags: --banner (print junk on stdout before the handshake); --stderr-flood-mb N (write N MiB
to stderr without a newline, then one newline, before serving).
"""
import json
import sys

out = sys.stdout.buffer


def send_raw(data: bytes) -> None:
    out.write(data)
    out.flush()


def send(obj) -> None:
    send_raw(json.dumps(obj).encode() + b"\n")


def answer(rid, text: str) -> None:
    send({"jsonrpc": "2.0", "id": rid, "result": {"content": [{"type": "text", "text": text}]}})


TOOLS = [
    "echo", "garbage_then_answer", "huge_line_then_answer", "huge_answer",
    "invalid_utf8_answer", "wrong_id_only", "nested_answer", "flood_then_answer",
    "die_with_garbage", "no_newline_forever", "progress_burst", "mixed_burst",
]


def call(rid, name: str, args: dict, token=None) -> None:
    if name == "echo":
        answer(rid, "Echo: " + str(args.get("message")))
    elif name == "garbage_then_answer":
        for junk in [b"not json at all", b"{", b"[1,2", b"\xff\xfe\xfd garbage", b"\x00\x01\x02",
                     b'{"jsonrpc":"2.0"}', b"42", b'"string"', b"[]", b"null"]:
            send_raw(junk + b"\n")
        send({"jsonrpc": "2.0", "id": 10_000_000, "result": {"content": []}})
        send({"jsonrpc": "2.0", "id": "not-yours", "result": {}})
        send({"jsonrpc": "2.0", "id": rid, "error": "not an object"})
        send({"jsonrpc": "2.0", "method": "notifications/unknown/kind", "params": {"x": 1}})
        send({"jsonrpc": "2.0", "id": "srv-1", "method": "sampling/createMessage", "params": {}})
        send({"jsonrpc": "2.0", "id": "srv-2", "method": "roots/list"})
        send({"jsonrpc": "2.0", "id": "srv-3", "method": "no/such/method", "params": [1, 2]})
        answer(rid, "ok after garbage")
    elif name == "huge_line_then_answer":
        send_raw(b"x" * (20 * 1024 * 1024) + b"\n")
        answer(rid, "ok after a huge line")
    elif name == "huge_answer":
        answer(rid, "y" * (8 * 1024 * 1024))
    elif name == "invalid_utf8_answer":
        send_raw(b'{"jsonrpc":"2.0","id":' + json.dumps(rid).encode()
                 + b',"result":{"content":[{"type":"text","text":"bad \xff\xfe bytes"}]}}\n')
    elif name == "wrong_id_only":
        wrong = rid + 1 if isinstance(rid, int) else str(rid) + "-wrong"
        answer(wrong, "for someone else")
    elif name == "nested_answer":
        deep = b"[" * 100_000 + b"]" * 100_000
        send_raw(b'{"jsonrpc":"2.0","id":' + json.dumps(rid).encode() + b',"result":' + deep + b"}\n")
    elif name == "flood_then_answer":
        for i in range(int(args.get("count", 20000))):
            send({"jsonrpc": "2.0", "method": "notifications/message",
                  "params": {"level": "info", "data": "flood line %d %s" % (i, "z" * 64)}})
        answer(rid, "ok after a flood")
    elif name == "progress_burst":
        # Every progress notification in one write, then the answer: the proxy reads them
        # together and must pass them on in order.
        count = int(args.get("count", 50))
        burst = b"".join(json.dumps({"jsonrpc": "2.0", "method": "notifications/progress",
                                     "params": {"progressToken": token, "progress": i,
                                                "total": count}}).encode() + b"\n"
                         for i in range(1, count + 1))
        send_raw(burst)
        answer(rid, "burst of %d" % count)
    elif name == "mixed_burst":
        # A log message and a progress notification for each step, all in one write, then
        # the answer: the client must see them in this order, all before the answer.
        count = int(args.get("count", 50))
        burst = b""
        for i in range(1, count + 1):
            burst += json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                                 "params": {"level": "info", "data": "step %d" % i}}).encode() + b"\n"
            burst += json.dumps({"jsonrpc": "2.0", "method": "notifications/progress",
                                 "params": {"progressToken": token, "progress": i}}).encode() + b"\n"
        send_raw(burst)
        answer(rid, "mixed burst of %d" % count)
    elif name == "die_with_garbage":
        send_raw(b"\xff{{{ dying\n")
        sys.exit(3)
    elif name == "no_newline_forever":
        # 64 MiB without a newline: the proxy must not buffer it all.
        chunk = b"w" * (1024 * 1024)
        for _ in range(64):
            send_raw(chunk)
        answer(rid, "never seen")  # glued to the junk, so it is part of the same line
    else:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": "unknown tool"}})


def main() -> None:
    if "--stderr-flood-mb" in sys.argv:
        mib = int(sys.argv[sys.argv.index("--stderr-flood-mb") + 1])
        chunk = b"e" * (1024 * 1024)
        for _ in range(mib):
            sys.stderr.buffer.write(chunk)
        sys.stderr.buffer.write(b"\nstderr flood done\n")
        sys.stderr.buffer.flush()
    if "--banner" in sys.argv:
        send_raw(b"Starting junk server v0.0.1...\n\xff\xfe banner bytes\n{\"not\": \"jsonrpc\"}\n")
    for line in sys.stdin.buffer:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if not isinstance(msg, dict):
            continue
        method, rid = msg.get("method"), msg.get("id")
        if method == "initialize":
            send({"jsonrpc": "2.0", "id": rid, "result": {
                "protocolVersion": msg.get("params", {}).get("protocolVersion", "2025-06-18"),
                "capabilities": {"tools": {}}, "serverInfo": {"name": "junk", "version": "0"}}})
        elif method == "tools/list":
            send({"jsonrpc": "2.0", "id": rid, "result": {"tools": [
                {"name": t, "description": "junk tool " + t,
                 "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}}},
                 "annotations": {"readOnlyHint": True}}
                for t in TOOLS]}})
        elif method == "tools/call":
            params = msg.get("params") or {}
            token = (params.get("_meta") or {}).get("progressToken")
            call(rid, params.get("name"), params.get("arguments") or {}, token)
        elif method == "ping":
            send({"jsonrpc": "2.0", "id": rid, "result": {}})
        elif rid is not None and method is not None:
            send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no"}})


if __name__ == "__main__":
    main()
