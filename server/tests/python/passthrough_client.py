"""Exercise what must pass through mcpproxy, with the official Python MCP SDK as the client
and server-everything (a real third-party server) behind the proxy.

Usage: passthrough_client.py URL PREFIX
  URL     a streamable-HTTP MCP endpoint (the proxy's /mcp/servers/everything, /mcp/all, …);
  PREFIX  what tool and prompt names carry on that surface ("" transparent, "everything__"
          on the aggregated surfaces).
The client declares sampling, elicitation and roots, answers each with a marker, follows
progress and log messages, and prints one JSON object with what it saw. Exits non-zero when
a step fails outright; the test judges the rest.
"""

import asyncio
import json
import sys

import anyio
import mcp
from mcp import types
from mcp.client.streamable_http import streamable_http_client


def text_of(result):
    return "".join(getattr(c, "text", "") for c in result.content)


async def main(url, prefix):
    seen = {"progress": [], "logs": [], "sampling_asked": 0, "elicitation_asked": 0, "notifications": []}

    async def sampling(ctx, params):
        seen["sampling_asked"] += 1
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text="SAMPLED-BY-CLIENT"),
            model="test-model",
        )

    async def elicitation(ctx, params):
        seen["elicitation_asked"] += 1
        schema = getattr(params, "requested_schema", None) or {}
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        content = {}
        for key, spec in props.items():
            kind = spec.get("type") if isinstance(spec, dict) else None
            if kind == "boolean":
                content[key] = True
            elif kind in ("number", "integer"):
                content[key] = 1
            elif isinstance(spec, dict) and spec.get("enum"):
                content[key] = spec["enum"][0]
            else:
                content[key] = "ELICITED"
        return types.ElicitResult(action="accept", content=content)

    async def logging(params):
        seen["logs"].append(str(params.data))

    async def messages(message):
        if isinstance(message, Exception):
            return
        root = getattr(message, "root", message)
        method = getattr(root, "method", None)
        if method:
            seen["notifications"].append(method)

    async def progress(progress, total, message):
        seen["progress"].append(progress)

    async with streamable_http_client(url) as (read, write, *_):
        async with mcp.ClientSession(
            read,
            write,
            sampling_callback=sampling,
            elicitation_callback=elicitation,
            logging_callback=logging,
            message_handler=messages,
            client_info=mcp.Implementation(name="passthrough-client", version="1"),
        ) as session:
            init = await session.initialize()
            seen["protocol"] = str(init.protocol_version)
            tools = await session.list_tools()
            seen["tools"] = sorted(t.name for t in tools.tools)
            echoed = await session.call_tool(prefix + "echo", {"message": "hi"})
            seen["echo"] = text_of(echoed)

            long = await session.call_tool(
                prefix + "trigger-long-running-operation",
                {"duration": 1, "steps": 3},
                progress_callback=progress,
            )
            seen["long"] = text_of(long)

            sampled = await session.call_tool(
                prefix + "trigger-sampling-request", {"prompt": "say something", "maxTokens": 10}
            )
            seen["sampling"] = text_of(sampled)

            elicited = await session.call_tool(prefix + "trigger-elicitation-request", {})
            seen["elicitation"] = text_of(elicited)

            await session.set_logging_level("debug")

            resources = await session.list_resources()
            uris = [r.uri for r in resources.resources]
            seen["resources"] = len(uris)
            doc = next(str(u) for u in uris if "architecture" in str(u))
            read = await session.read_resource(doc)
            seen["read"] = len(getattr(read.contents[0], "text", "") or "")
            templates = await session.list_resource_templates()
            seen["templates"] = sorted(t.uri_template for t in templates.resource_templates)
            dynamic = await session.read_resource("demo://resource/dynamic/text/1")
            seen["read_dynamic"] = getattr(dynamic.contents[0], "text", "")

            links = await session.call_tool(prefix + "get-resource-links", {"count": 2})
            linked = [c.uri for c in links.content if getattr(c, "type", "") == "resource_link"]
            seen["links"] = [str(u) for u in linked]
            if linked:
                through = await session.read_resource(linked[0])
                seen["link_read"] = len(through.contents)

            prompts = await session.list_prompts()
            seen["prompts"] = sorted(p.name for p in prompts.prompts)
            got = await session.get_prompt(prefix + "args-prompt", {"city": "Paris", "state": "TX"})
            seen["prompt"] = " ".join(getattr(m.content, "text", "") for m in got.messages)
            done = await session.complete(
                types.PromptReference(type="ref/prompt", name=prefix + "completable-prompt"),
                {"name": "department", "value": "E"},
            )
            seen["completion"] = done.completion.values

            # Cancel a long operation after its first progress (the SDK sends
            # notifications/cancelled when the call's scope is cancelled).
            first = anyio.Event()

            async def on_progress(p, total, message):
                first.set()

            async def long_call():
                await session.call_tool(
                    prefix + "trigger-long-running-operation",
                    {"duration": 20, "steps": 20},
                    progress_callback=on_progress,
                )

            with anyio.move_on_after(15):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(long_call)
                    await first.wait()
                    tg.cancel_scope.cancel()
            seen["cancelled_after_progress"] = first.is_set()
            # The session still works after a cancellation.
            again = await session.call_tool(prefix + "echo", {"message": "after"})
            seen["after_cancel"] = text_of(again)
    print(json.dumps(seen))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""))
