"""Drive mcpproxy's /mcp with the official Python MCP SDK (a real third-party client).

Usage: mcp_sdk_client.py URL MODE   (MODE: auto = mcp.Client's default negotiation, which
tries the 2026-07-28 `server/discover` first; legacy = ClientSession.initialize()).
Prints one JSON object with what the client saw; exits non-zero on any failure.
"""

import asyncio
import json
import sys

import mcp
from mcp.client.streamable_http import streamable_http_client


def text_of(result):
    return "".join(getattr(c, "text", "") for c in result.content)


async def run_auto(url):
    async with mcp.Client(url, client_info=mcp.Implementation(name="python-sdk-auto", version="2.3.0")) as client:
        tools = await client.list_tools()
        found = await client.call_tool("retrieve_tools", {"query": "echo a message back", "limit": 3})
        echoed = await client.call_tool("call_tool_read", {"name": "everything:echo", "args": {"message": "hi"}})
        return {
            "protocol": str(client.protocol_version),
            "tools": sorted(t.name for t in tools.tools),
            "first": json.loads(text_of(found))["tools"][0]["name"],
            "echo": text_of(echoed),
        }


async def run_legacy(url):
    async with streamable_http_client(url) as (read, write, *_):
        async with mcp.ClientSession(read, write, client_info=mcp.Implementation(name="python-sdk-legacy", version="2.3.0")) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            found = await session.call_tool("retrieve_tools", {"query": "echo a message back", "limit": 3})
            echoed = await session.call_tool("call_tool", {"name": "everything:echo", "args_json": "{\"message\": \"hi\"}"})
            return {
                "protocol": str(init.protocol_version),
                "tools": sorted(t.name for t in tools.tools),
                "first": json.loads(text_of(found))["tools"][0]["name"],
                "echo": text_of(echoed),
            }


async def main():
    url, mode = sys.argv[1], sys.argv[2]
    runner = run_auto if mode == "auto" else run_legacy
    result = await asyncio.wait_for(runner(url), timeout=30)
    print(json.dumps(result))


asyncio.run(main())
