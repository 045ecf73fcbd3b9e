// SDK-matrix client written with the official TypeScript SDK (`@modelcontextprotocol/client`
// 2.x from npm, installed by .ci/install-test-deps into .harness/sdk-ts): the same six
// exercises and the same one-line JSON report as client.py.
//
// Usage: NODE_PATH=.harness/sdk-ts/node_modules node client.cjs --revision 2025|2026
//          --marker FILE [--prefix P] http URL | stdio CMD [ARG...]
// --revision 2025 connects with `initialize` (versionNegotiation "legacy"), 2026 pins
// 2026-07-28. --prefix P calls each tool as P + its name (`up__` on the proxy's direct surface).
// Exit status: 0 every exercise passed, 1 some failed, 2 the client could not run.
'use strict';

const fs = require('node:fs');
const crypto = require('node:crypto');
const sdk = require('@modelcontextprotocol/client');
const { StdioClientTransport } = require('@modelcontextprotocol/client/stdio');

const EXERCISE_TIMEOUT_MS = 30000;
const MARKER_WAIT_MS = 15000;
const NOTIFY_WAIT_MS = 10000;
const SAMPLED = 'pong from the client';
const ELICITED = 'Ada';
// As in client.py: ask for `info` and up; the upstream sends debug..error.
const LOG_LEVEL = 'info';
const LEVELS = ['info', 'warning', 'error'];

function parseArgs(argv) {
  const args = { prefix: '' };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--revision') args.revision = argv[++i];
    else if (a === '--marker') args.marker = argv[++i];
    else if (a === '--prefix') args.prefix = argv[++i];
    else break;
  }
  args.transport = argv[i];
  args.target = argv.slice(i + 1);
  if (!['2025', '2026'].includes(args.revision) || !args.marker || !['http', 'stdio'].includes(args.transport) || args.target.length === 0) {
    throw new Error('usage: client.cjs --revision 2025|2026 --marker FILE [--prefix P] http URL | stdio CMD [ARG...]');
  }
  return args;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const textOf = (result) => (result.content || []).map((c) => c.text || '').join('');

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function waitFor(check, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(50);
  }
  return check();
}

class Exercises {
  constructor(args, client) {
    this.args = args;
    this.client = client;
    this.logs = [];
    this.changed = 0;
  }

  // Log opt-in: 2025 by logging/setLevel, 2026 per request in `_meta`.
  meta() {
    return this.args.revision === '2026' ? { [sdk.LOG_LEVEL_META_KEY]: LOG_LEVEL } : undefined;
  }

  call(tool, args, options = {}) {
    const params = { name: this.args.prefix + tool, arguments: args };
    const meta = this.meta();
    if (meta) params._meta = meta;
    return this.client.callTool(params, { timeout: EXERCISE_TIMEOUT_MS, ...options });
  }

  expectText(result, want) {
    const got = textOf(result);
    if (result.isError || got !== want) throw new Error(`result ${JSON.stringify(got)} (isError=${!!result.isError}), want ${JSON.stringify(want)}`);
  }

  async progress() {
    const seen = [];
    const result = await this.call('progress', { steps: 3 }, { onprogress: (p) => seen.push(p.progress) });
    this.expectText(result, 'progressed 3');
    if (JSON.stringify(seen) !== '[1,2,3]') throw new Error(`progress notifications ${JSON.stringify(seen)}, want [1,2,3]`);
    return `3 notifications ${JSON.stringify(seen)}`;
  }

  markerLines() {
    try {
      return fs.readFileSync(this.args.marker, 'utf8').split('\n');
    } catch {
      return [];
    }
  }

  // Wait for a line in the marker file; false when `stop` shows up or time runs out.
  async waitMarker(wanted, stop) {
    let found = false;
    await waitFor(() => {
      const lines = this.markerLines();
      found = lines.includes(wanted);
      return found || (stop !== undefined && lines.includes(stop));
    }, MARKER_WAIT_MS);
    return found;
  }

  async cancel() {
    const token = crypto.randomBytes(6).toString('hex');
    const abort = new AbortController();
    const pending = this.call('slow', { token }, { signal: abort.signal }).then(
      () => 'returned',
      () => 'aborted',
    );
    // Cancel once the upstream is running the tool (a fixed delay would race a loaded machine).
    const started = await this.waitMarker(`started ${token}`);
    abort.abort('sdk-matrix cancels slow');
    if (!started) throw new Error(`the upstream did not start slow within ${MARKER_WAIT_MS} ms`);
    if ((await pending) === 'returned') throw new Error('slow returned before it was cancelled');
    if (await this.waitMarker(`cancelled ${token}`, `finished ${token}`)) return `upstream recorded 'cancelled ${token}'`;
    if (this.markerLines().includes(`finished ${token}`)) throw new Error('the upstream ran slow to the end');
    throw new Error(`the upstream did not record a cancellation within ${MARKER_WAIT_MS} ms`);
  }

  async sample() {
    this.expectText(await this.call('sample', { prompt: 'ping' }), `sampled: ${SAMPLED}`);
    return 'round trip ok';
  }

  async elicit() {
    this.expectText(await this.call('elicit', {}), `elicited: accept ${ELICITED}`);
    return 'round trip ok';
  }

  async log() {
    if (this.args.revision === '2025') await this.client.setLoggingLevel(LOG_LEVEL);
    this.logs = [];
    const result = await this.call('log', {});
    if (result.isError || !textOf(result).startsWith('logged ')) throw new Error(`result ${JSON.stringify(textOf(result))}`);
    await waitFor(() => this.logs.length >= LEVELS.length, NOTIFY_WAIT_MS);
    await sleep(200); // room for a stray extra message to show up
    // The levels asked for, each once; the order is reported, not required.
    const got = JSON.stringify(this.logs);
    if (JSON.stringify([...this.logs].sort()) !== JSON.stringify([...LEVELS].sort())) throw new Error(`log levels received ${got}, want ${JSON.stringify(LEVELS)}`);
    return `levels ${got}${got === JSON.stringify(LEVELS) ? '' : ' (order not kept)'}`;
  }

  // A change notification after `grow`, and then the new tool in tools/list (a notification
  // from before, e.g. the proxy's upstream coming up, does not count on its own).
  async list_changed() {
    const bare = `grown_${crypto.randomBytes(4).toString('hex')}`;
    const name = this.args.prefix + bare;
    let sub = null;
    if (this.args.revision === '2026') sub = await this.client.listen({ toolsListChanged: true });
    else await this.client.listTools();
    let notified = 0;
    try {
      let seen = this.changed;
      this.expectText(await this.call('grow', { name: bare }), `grew ${bare}`);
      const deadline = Date.now() + NOTIFY_WAIT_MS;
      for (;;) {
        if (!(await waitFor(() => this.changed > seen, deadline - Date.now()))) throw new Error(`no notifications/tools/list_changed listing ${name} within ${NOTIFY_WAIT_MS} ms (${notified} seen)`);
        seen = this.changed;
        notified += 1;
        if ((await this.client.listTools()).tools.some((t) => t.name === name)) break;
      }
    } finally {
      if (sub) await sub.close();
    }
    return `notified (${notified} notification(s) until ${name} was listed)`;
  }
}

const EXERCISES = ['progress', 'cancel', 'sample', 'elicit', 'log', 'list_changed'];

async function run(args) {
  const client = new sdk.Client(
    { name: 'sdk-matrix-typescript', version: '1' },
    {
      capabilities: { sampling: {}, elicitation: { form: {} } },
      versionNegotiation: { mode: args.revision === '2025' ? 'legacy' : { pin: '2026-07-28' } },
    },
  );
  const ex = new Exercises(args, client);
  client.setRequestHandler('sampling/createMessage', async () => ({
    model: 'sdk-matrix',
    role: 'assistant',
    content: { type: 'text', text: SAMPLED },
  }));
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: ELICITED } }));
  client.setNotificationHandler('notifications/message', (n) => {
    ex.logs.push(n.params.level);
  });
  client.setNotificationHandler('notifications/tools/list_changed', () => {
    ex.changed += 1;
  });
  const transport =
    args.transport === 'http'
      ? new sdk.StreamableHTTPClientTransport(new URL(args.target[0]))
      : new StdioClientTransport({ command: args.target[0], args: args.target.slice(1), env: process.env, stderr: 'inherit' });
  await withTimeout(client.connect(transport), EXERCISE_TIMEOUT_MS, 'connect');
  const out = { client: 'typescript', revision: args.revision, protocol: null, results: {} };
  out.protocol = client.getNegotiatedProtocolVersion() ?? null;
  for (const name of EXERCISES) {
    try {
      const detail = await withTimeout(ex[name](), EXERCISE_TIMEOUT_MS, name);
      out.results[name] = { ok: true, detail };
    } catch (e) {
      out.results[name] = { ok: false, detail: `${e && e.name}: ${e && e.message}` };
    }
  }
  await client.close();
  return out;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
    const out = await run(args);
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return Object.values(out.results).every((r) => r.ok) ? 0 : 1;
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ client: 'typescript', revision: args && args.revision, error: `${e && e.name}: ${e && e.message}` })}\n`);
    return 2;
  }
}

main().then((code) => process.exit(code));
