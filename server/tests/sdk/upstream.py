"""An MCP upstream written with the official Python SDK (`mcp` 2.x `MCPServer`), for the SDK matrix.

It speaks whatever revision its client negotiates: 2026-07-28 (after `server/discover`) or
2025-11-25 (after `initialize`); `--legacy-only` refuses 2026-07-28 so the proxy must fall back.

Usage: upstream.py stdio --marker FILE [--legacy-only]
       upstream.py http  --marker FILE [--legacy-only]   (binds 127.0.0.1:0, prints
       `READY http://127.0.0.1:PORT/mcp` on stdout once it accepts connections)

Tools (the six exercises of the matrix):
- `progress {steps}`: appends `protocol REVISION` (the revision its caller negotiated) to the
  marker file, sends `steps` progress notifications, then returns "progressed N";
- `slow {token}`: appends `started TOKEN` to the marker file and runs until cancelled (at
  most 60 s); on cancellation appends `cancelled TOKEN`, so a test can see the upstream
  really stopped;
- `sample {prompt}`: asks the client for `sampling/createMessage`, returns "sampled: TEXT";
- `elicit`: asks the client for a name (elicitation), returns "elicited: ACTION NAME";
- `log`: sends `notifications/message` at debug, info, warning and error (2025: only those at
  or above the `logging/setLevel` level), returns "logged N";
- `grow {name}`: adds a tool NAME and announces it (2025: `notifications/tools/list_changed`,
  2026: the `subscriptions/listen` stream), returns "grew NAME".
"""

import argparse
import socket
import sys
import warnings
from typing import Annotated

import anyio
from pydantic import BaseModel

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve, Sample
from mcp import types
from mcp.shared.exceptions import MCPError
from mcp_types import UNSUPPORTED_PROTOCOL_VERSION
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from mcp.types import CreateMessageResult, SamplingMessage, TextContent

warnings.simplefilter("ignore")  # logging/sampling are deprecated in 2026-07-28 but still served

LEVELS = ("debug", "info", "warning", "error")
# 2025-11-25: the level a client set with `logging/setLevel` (2026-07-28 carries it per request
# and the SDK filters); `log` sends only the levels at or above it.
ORDER = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
SLOW_LIMIT_S = 60.0


class Name(BaseModel):
    name: str


def build(marker: str) -> MCPServer:
    server = MCPServer("sdk-matrix-upstream")
    min_level = {"level": "debug"}

    async def set_level(_ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
        min_level["level"] = str(params.level)
        return types.EmptyResult()

    server._lowlevel_server.add_request_handler(  # noqa: SLF001 (MCPServer has no public hook)
        "logging/setLevel", types.SetLevelRequestParams, set_level
    )

    @server.tool()
    async def progress(ctx: Context, steps: int = 3) -> str:
        """Send `steps` progress notifications, then return."""
        with open(marker, "a", encoding="utf-8") as f:
            f.write(f"protocol {ctx.protocol_version}\n")
        for i in range(1, steps + 1):
            await ctx.report_progress(i, steps, f"step {i}")
            await anyio.sleep(0.05)
        return f"progressed {steps}"

    @server.tool()
    async def slow(token: str) -> str:
        """Run until cancelled; record the start and the cancellation in the marker file."""
        with open(marker, "a", encoding="utf-8") as f:
            f.write(f"started {token}\n")
        try:
            await anyio.sleep(SLOW_LIMIT_S)
        except anyio.get_cancelled_exc_class():
            with open(marker, "a", encoding="utf-8") as f:
                f.write(f"cancelled {token}\n")
            raise
        with open(marker, "a", encoding="utf-8") as f:
            f.write(f"finished {token}\n")
        return f"finished {token}"

    async def ask_llm(prompt: str) -> Sample:
        return Sample([SamplingMessage(role="user", content=TextContent(type="text", text=prompt))], max_tokens=50)

    @server.tool()
    async def sample(prompt: str, answer: Annotated[CreateMessageResult, Resolve(ask_llm)]) -> str:
        """Ask the client's LLM (sampling/createMessage) and return its text."""
        content = answer.content
        text = getattr(content, "text", None)
        if text is None and isinstance(content, list):
            text = "".join(getattr(c, "text", "") for c in content)
        return f"sampled: {text}"

    async def ask_name() -> Elicit[Name]:
        return Elicit("What is your name?", Name)

    @server.tool()
    async def elicit(who: Annotated[Name, Resolve(ask_name)]) -> str:
        """Ask the user for a name (elicitation) and return it."""
        return f"elicited: accept {who.name}"

    @server.tool()
    async def log(ctx: Context) -> str:
        """Send one notifications/message at each of four levels (at or above the level set)."""
        floor = ORDER.index(min_level["level"]) if min_level["level"] in ORDER else 0
        sent = [level for level in LEVELS if ORDER.index(level) >= floor]
        for level in sent:
            await ctx.log(level, f"{level} message", logger_name="sdk-matrix")
        return f"logged {len(sent)}"

    @server.tool()
    async def grow(ctx: Context, name: str = "grown") -> str:
        """Add a tool called `name` and announce the change."""

        async def grown() -> str:
            return "grown"

        server.add_tool(grown, name=name, description="added at run time by grow")
        if ctx.protocol_version and ctx.protocol_version >= "2026":
            await ctx.notify_tools_changed()
        else:
            await ctx.session.send_tool_list_changed()
        return f"grew {name}"

    return server


def legacy_only(server: MCPServer) -> None:
    """Refuse 2026-07-28: no `server/discover`, and any 2026-07-28 request is answered with the
    spec's -32022 (unsupported protocol version) naming 2025-11-25, so a client falls back to
    `initialize`."""
    low = server._lowlevel_server  # noqa: SLF001 (MCPServer has no public switch)
    low._request_handlers.pop("server/discover", None)  # noqa: SLF001

    async def refuse_modern(ctx, call_next):
        if ctx.request_id is not None and ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            raise MCPError(
                code=UNSUPPORTED_PROTOCOL_VERSION,
                message="this server speaks 2025-11-25 only",
                data={"supported": ["2025-11-25"], "requested": ctx.protocol_version},
            )
        return await call_next(ctx)

    low.middleware.insert(0, refuse_modern)


def loopback_socket() -> socket.socket:
    """A socket bound to 127.0.0.1 on a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def serve_http(server: MCPServer, sock: socket.socket | None = None) -> None:
    """Serve `server` over streamable HTTP on `sock` (a fresh loopback one by default);
    print `READY http://127.0.0.1:PORT/mcp` once it accepts connections."""
    import uvicorn

    sock = sock or loopback_socket()
    port = sock.getsockname()[1]
    app = server.streamable_http_app()
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)

    async def announce() -> None:
        while not srv.started:
            await anyio.sleep(0.02)
        print(f"READY http://127.0.0.1:{port}/mcp", flush=True)

    async with anyio.create_task_group() as tg:
        tg.start_soon(announce)
        await srv.serve(sockets=[sock])
        tg.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("--marker", required=True)
    parser.add_argument("--legacy-only", action="store_true")
    args = parser.parse_args()
    server = build(args.marker)
    if args.legacy_only:
        legacy_only(server)
    if args.transport == "stdio":
        server.run("stdio")
    else:
        anyio.run(serve_http, server)


if __name__ == "__main__":
    sys.exit(main())
