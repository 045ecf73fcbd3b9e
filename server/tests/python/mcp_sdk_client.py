"""Drive mcpproxy's /mcp with the official Python MCP SDK (a real third-party client).

Usage: mcp_sdk_client.py URL MODE   (MODE: auto = mcp.Client's default negotiation, which
tries the 2026-07-28 `server/discover` first; legacy = ClientSession.initialize()).
       mcp_sdk_client.py COMMAND_JSON stdio   (spawn the proxy, e.g. `mcpproxy serve --stdio`,
given as a JSON array, and talk MCP over its pipes; the child inherits this environment).
Prints one JSON object with what the client saw; exits non-zero on any failure.
"""

import asyncio
import json
import os
import sys

import mcp
from mcp.client.stdio import StdioServerParameters, stdio_client
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


async def run_stdio(command_json):
    command = json.loads(command_json)
    params = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with mcp.ClientSession(read, write, client_info=mcp.Implementation(name="python-sdk-stdio", version="2.3.0")) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            # The upstream connects in the background: search until it is indexed (bounded).
            first = None
            for _ in range(200):
                found = await session.call_tool("retrieve_tools", {"query": "echo a message back", "limit": 3})
                hits = json.loads(text_of(found)).get("tools") or []
                if hits:
                    first = hits[0]["name"]
                    break
                await asyncio.sleep(0.1)
            echoed = await session.call_tool("call_tool_read", {"name": "everything:echo", "args": {"message": "hi"}})
            return {
                "protocol": str(init.protocol_version),
                "tools": sorted(t.name for t in tools.tools),
                "first": first,
                "echo": text_of(echoed),
            }


async def main():
    url, mode = sys.argv[1], sys.argv[2]
    runner = {"auto": run_auto, "stdio": run_stdio}.get(mode, run_legacy)
    result = await asyncio.wait_for(runner(url), timeout=30)
    print(json.dumps(result))


asyncio.run(main())
