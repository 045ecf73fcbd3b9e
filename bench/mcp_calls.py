#!/usr/bin/env python3
"""Time N sequential tools/call over one MCP session with the Python `mcp` SDK (1.x or 2.x).

Used by `server/benches/proxy.rs` to compare peer proxies (mcp-hub speaks only legacy SSE)
with mcpproxy and direct server-everything using the same client.

  mcp_calls.py --tool echo --args '{"message":"hi"}' --n 300 --warmup 30 stdio -- node EV stdio
  mcp_calls.py ... http URL
  mcp_calls.py ... sse URL

Prints one JSON line: {"n":..,"samples_us":[...],"first_text":"..","errors":k}.
Every call is bounded by --call-timeout seconds; the whole run by --deadline seconds.
"""
import argparse
import asyncio

import anyio
import json
import sys
import time
from contextlib import AsyncExitStack

from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client

try:  # newer SDKs
    from mcp.client.streamable_http import streamable_http_client as _shttp
    _NEW = True
except ImportError:  # older 1.x
    from mcp.client.streamable_http import streamablehttp_client as _shttp
    _NEW = False


async def open_session(stack, transport, target):
    if transport == "stdio":
        params = StdioServerParameters(command=target[0], args=target[1:])
        streams = await stack.enter_async_context(
            stdio_client(params, errlog=open("/dev/null", "w")))
    elif transport == "http":
        if _NEW:
            import importlib
            httpx = None
            for mod in ("httpx2", "httpx"):
                try:
                    httpx = importlib.import_module(mod)
                    break
                except ImportError:
                    pass
            client = await stack.enter_async_context(
                httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=300.0)))
            streams = await stack.enter_async_context(_shttp(target[0], http_client=client))
        else:
            streams = await stack.enter_async_context(_shttp(target[0]))
    elif transport == "sse":
        streams = await stack.enter_async_context(sse_client(target[0]))
    else:
        raise SystemExit(f"unknown transport {transport}")
    session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
    with anyio.fail_after(30):
        await session.initialize()
    return session


DONE = [False]


def text_of(result):
    for c in result.content:
        if getattr(c, "type", "") == "text":
            return c.text
    return ""


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--args", default="{}")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--call-timeout", type=float, default=10.0)
    ap.add_argument("--deadline", type=float, default=120.0)
    ap.add_argument("transport", choices=["stdio", "http", "sse"])
    ap.add_argument("target", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    target = [t for t in a.target if t != "--"]
    args = json.loads(a.args)
    started = time.monotonic()
    samples, errors, first = [], 0, None
    async with AsyncExitStack() as stack:
        session = await open_session(stack, a.transport, target)
        for i in range(a.warmup + a.n):
            if time.monotonic() - started > a.deadline:
                break
            t0 = time.perf_counter()
            with anyio.fail_after(a.call_timeout):
                r = await session.call_tool(a.tool, args)
            dt = time.perf_counter() - t0
            is_err = getattr(r, "isError", None) or getattr(r, "is_error", None)
            if first is None:
                first = text_of(r)
            if is_err:
                errors += 1
            if i >= a.warmup:
                samples.append(round(dt * 1e6, 1))
        print(json.dumps({"n": len(samples), "samples_us": samples, "first_text": first,
                          "errors": errors}), flush=True)
        DONE[0] = True
    return 0


if __name__ == "__main__":
    try:
        code = anyio.run(main)
    except BaseException as e:  # a teardown error after the JSON line is not a failure
        if not DONE[0]:
            import traceback
            traceback.print_exception(e)
        code = 0 if DONE[0] else 1
    sys.exit(code)
