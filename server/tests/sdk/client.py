"""SDK-matrix client written with the official Python SDK (`mcp` 2.x): runs the six exercises
against an MCP server (the matrix upstream directly, or the proxy in front of it) and prints
one JSON line: {"client", "revision", "protocol", "results": {exercise: {"ok", "detail"}}}.

Usage: client.py --revision 2025|2026 --marker FILE [--prefix P] http URL
       client.py --revision 2025|2026 --marker FILE [--prefix P] stdio CMD [ARG...]

--revision 2025 negotiates with `initialize` (mode "legacy"), 2026 pins 2026-07-28.
--prefix P calls each tool as P + its name (`up__` for the proxy's direct surface,
`/mcp/all` or the stdio front with `routing_mode: direct`); without it tools are called by
their own names (the upstream itself, or a transparent `/mcp/servers/{name}`).
The exit status is 0 when every exercise passed, 1 otherwise, 2 when the client could not run.
"""

import argparse
import json
import os
import sys
import time
import uuid
import warnings

import anyio

import mcp
from mcp import types
from mcp.client.stdio import StdioServerParameters

warnings.simplefilter("ignore")  # logging/sampling are deprecated in 2026-07-28 but still carried

EXERCISE_TIMEOUT_S = 30.0
MARKER_WAIT_S = 15.0
NOTIFY_WAIT_S = 10.0
SAMPLED = "pong from the client"
ELICITED = "Ada"
# The client asks for `info` and up: the upstream sends debug..error, so a level that was not
# carried (setLevel in 2025, the per-request `_meta` level in 2026) shows as an extra `debug`.
LOG_LEVEL = "info"
LEVELS = ["info", "warning", "error"]


def text_of(result) -> str:
    return "".join(getattr(c, "text", "") for c in result.content)


class Exercises:
    def __init__(self, args):
        self.args = args
        self.logs = []
        self.changed = anyio.Event()

    # ---- callbacks the client registers
    async def on_sampling(self, _ctx, params):
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text=SAMPLED), model="sdk-matrix"
        )

    async def on_elicitation(self, _ctx, params):
        return types.ElicitResult(action="accept", content={"name": ELICITED})

    async def on_log(self, params):
        self.logs.append(str(params.level))

    async def on_message(self, message):
        if isinstance(message, types.ToolListChangedNotification):
            self.changed.set()

    # ---- calling a tool by its name on the surface in front of the client
    async def call(self, client, tool, arguments, **kw):
        return await client.call_tool(self.args.prefix + tool, arguments, **kw)

    def expect_text(self, result, want):
        got = text_of(result)
        if result.is_error or got != want:
            raise AssertionError(f"result {got!r} (isError={result.is_error}), want {want!r}")

    # ---- the six exercises
    async def progress(self, client):
        seen = []

        async def on_progress(progress, total, message):
            seen.append(progress)

        result = await self.call(client, "progress", {"steps": 3}, progress_callback=on_progress)
        self.expect_text(result, "progressed 3")
        if seen != [1, 2, 3]:
            raise AssertionError(f"progress notifications {seen}, want [1, 2, 3]")
        return f"3 notifications {seen}"

    def marker_lines(self):
        try:
            with open(self.args.marker, encoding="utf-8") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    async def wait_marker(self, wanted, stop=None):
        """Wait for a line in the marker file; False when `stop` shows up or time runs out."""
        deadline = time.monotonic() + MARKER_WAIT_S
        while time.monotonic() < deadline:
            lines = self.marker_lines()
            if wanted in lines:
                return True
            if stop is not None and stop in lines:
                return False
            await anyio.sleep(0.05)
        return False

    async def cancel(self, client):
        token = uuid.uuid4().hex[:12]
        returned = []

        async def call_slow():
            await self.call(client, "slow", {"token": token})
            returned.append(True)

        # Cancel once the upstream is running the tool (a fixed delay would race a loaded
        # machine): the client SDK abandons the call, which must reach the upstream.
        async with anyio.create_task_group() as tg:
            tg.start_soon(call_slow)
            started = await self.wait_marker(f"started {token}")
            tg.cancel_scope.cancel()
        if not started:
            raise AssertionError(f"the upstream did not start slow within {MARKER_WAIT_S}s")
        if returned:
            raise AssertionError("slow returned before it was cancelled")
        if await self.wait_marker(f"cancelled {token}", stop=f"finished {token}"):
            return f"upstream recorded 'cancelled {token}'"
        if f"finished {token}" in self.marker_lines():
            raise AssertionError("the upstream ran slow to the end")
        raise AssertionError(f"the upstream did not record a cancellation within {MARKER_WAIT_S}s")

    async def sample(self, client):
        result = await self.call(client, "sample", {"prompt": "ping"})
        self.expect_text(result, f"sampled: {SAMPLED}")
        return "round trip ok"

    async def elicit(self, client):
        result = await self.call(client, "elicit", {})
        self.expect_text(result, f"elicited: accept {ELICITED}")
        return "round trip ok"

    async def log(self, client):
        if self.args.revision == "2025":
            await client.set_logging_level(LOG_LEVEL)
        self.logs.clear()
        result = await self.call(client, "log", {})
        if result.is_error or not text_of(result).startswith("logged "):
            raise AssertionError(f"result {text_of(result)!r}")
        with anyio.move_on_after(NOTIFY_WAIT_S):
            while len(self.logs) < len(LEVELS):
                await anyio.sleep(0.05)
        await anyio.sleep(0.2)  # room for a stray extra message to show up
        # The levels asked for, each once; the order is reported, not required.
        if sorted(self.logs) != sorted(LEVELS):
            raise AssertionError(f"log levels received {self.logs}, want {LEVELS}")
        return f"levels {self.logs}" + ("" if self.logs == LEVELS else " (order not kept)")

    async def list_changed(self, client):
        """A change notification after `grow`, and then the new tool in tools/list (a notification
        from before, e.g. the proxy's upstream coming up, does not count on its own)."""
        name = self.args.prefix + "grown_" + uuid.uuid4().hex[:8]

        async def listed():
            return name in [t.name for t in (await client.list_tools()).tools]

        async def grow():
            result = await self.call(client, "grow", {"name": name[len(self.args.prefix) :]})
            self.expect_text(result, f"grew {name[len(self.args.prefix):]}")

        notified = 0
        with anyio.fail_after(NOTIFY_WAIT_S):
            if self.args.revision == "2026":
                async with client.listen(tools_list_changed=True) as sub:
                    await grow()
                    async for _event in sub:
                        notified += 1
                        if await listed():
                            break
            else:
                await client.list_tools()
                self.changed = anyio.Event()
                await grow()
                while True:
                    await self.changed.wait()
                    notified += 1
                    self.changed = anyio.Event()
                    if await listed():
                        break
        return f"notified ({notified} notification(s) until {name} was listed)"


EXERCISES = ["progress", "cancel", "sample", "elicit", "log", "list_changed"]


async def run(args):
    ex = Exercises(args)
    if args.transport == "http":
        server = args.target[0]
    else:
        server = StdioServerParameters(command=args.target[0], args=args.target[1:], env=dict(os.environ))
    client = mcp.Client(
        server,
        mode="legacy" if args.revision == "2025" else "2026-07-28",
        sampling_callback=ex.on_sampling,
        elicitation_callback=ex.on_elicitation,
        logging_callback=ex.on_log,
        message_handler=ex.on_message,
        log_level=LOG_LEVEL if args.revision == "2026" else None,
        client_info=mcp.Implementation(name="sdk-matrix-python", version="1"),
        cache=None,
    )
    out = {"client": "python", "revision": args.revision, "protocol": None, "results": {}}
    async with client:
        out["protocol"] = str(client.protocol_version)
        for name in EXERCISES:
            try:
                with anyio.fail_after(EXERCISE_TIMEOUT_S):
                    detail = await getattr(ex, name)(client)
                out["results"][name] = {"ok": True, "detail": detail}
            except BaseException as e:  # noqa: BLE001 (report every failure, keep going)
                if isinstance(e, (KeyboardInterrupt, SystemExit)):
                    raise
                out["results"][name] = {"ok": False, "detail": f"{type(e).__name__}: {e}"}
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--revision", choices=["2025", "2026"], required=True)
    parser.add_argument("--marker", required=True)
    parser.add_argument("--prefix", default="")
    parser.add_argument("transport", choices=["http", "stdio"])
    parser.add_argument("target", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    try:
        out = anyio.run(run, args)
    except BaseException as e:  # noqa: BLE001
        print(json.dumps({"client": "python", "revision": args.revision, "error": f"{type(e).__name__}: {e}"}))
        return 2
    print(json.dumps(out))
    return 0 if all(r["ok"] for r in out["results"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
