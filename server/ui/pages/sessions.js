// Sessions: the MCP sessions of agents, live and closed, with their client, token and
// call count; each links to its calls in Activity.

import { call } from "../api.js";
import { h, fill, badge, when, table } from "../dom.js";
import { coalesce } from "../live.js";

export async function render(main, ctx) {
  const list = h("div", { id: "sessions" });
  fill(main, h("h1", {}, "Sessions"), list);
  const load = async () => {
    const page = (await call("session_list", { query: { limit: 100 } })).data;
    if (!ctx.current) return;
    fill(list, table(
      [
        ["Session", (s) => h("code", {}, s.id)],
        ["Client", (s) => [s.client_name || "—", s.client_version ? ` ${s.client_version}` : ""]],
        ["Status", (s) => badge(s.status, s.status === "active" ? "ok" : "")],
        ["Token", (s) => s.token_name || "—"],
        ["Started", (s) => when(s.start_time)],
        ["Last activity", (s) => when(s.last_activity)],
        ["Calls", (s) => String(s.tool_call_count), "num"],
        ["", (s) => h("a", { href: `#/activity?session=${encodeURIComponent(s.id)}` }, "calls")],
      ],
      page.sessions,
      { empty: "No MCP sessions yet." },
    ));
  };
  const refresh = coalesce(load, 300);
  ctx.on(["tool_call.recorded", "reconnected"], refresh);
  await refresh.now();
}
