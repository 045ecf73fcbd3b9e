// Reads the suite's output dirs that conformance/run collected and writes one
// JSON document: for each revision, the scored scenario list, the unscored ones
// that ran, and per target each scenario's status with its failing checks.
// A scenario passes when it produced checks and none of them is a FAILURE.
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) =>
    arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs, []));
const revisions = args.revisions.split(' ');
const nameIndependent = args['name-independent'].split(' ');
const TARGETS = ['direct', 'proxy', 'proxy-stdio', 'mcp'];

// `conformance list --server --requirements REV`: the scored server scenarios
// (under "Server scenarios") and the ones run but never scored ("- x [server]").
function lists(text) {
  const scored = [];
  const unscored = {};
  let inServer = false;
  let category = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('Server scenarios')) { inServer = true; continue; }
    if (inServer && line.trim() === '') { inServer = false; continue; }
    const item = line.match(/^ {2}- (\S+)$/);
    if (inServer && item) { scored.push(item[1]); continue; }
    const cat = line.match(/^ {2}(\S+) \(\d+\):$/);
    if (cat) { category = cat[1]; continue; }
    const extra = line.match(/^ {4}- (\S+) \[server\]$/);
    if (extra) unscored[extra[1]] = category;
  }
  return { scored, unscored };
}

// scenario -> result, from `<dir>/server-<scenario>-<timestamp>/checks.json`.
function results(dir) {
  const out = {};
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    const m = entry.match(/^server-(.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$/);
    if (!m) continue;
    const file = join(dir, entry, 'checks.json');
    if (!existsSync(file)) { out[m[1]] = { status: 'no-checks', checks: 0, failures: [] }; continue; }
    const checks = JSON.parse(readFileSync(file, 'utf8'));
    const failures = checks.filter((c) => c.status === 'FAILURE')
      .map((c) => ({ id: c.id, message: c.errorMessage ?? '' }));
    out[m[1]] = { status: failures.length === 0 && checks.length > 0 ? 'pass' : 'fail', checks: checks.length, failures };
  }
  return out;
}

const doc = {
  suite: `@modelcontextprotocol/conformance ${args['suite-version']}`,
  generated: new Date().toISOString(),
  targets: {
    direct: 'the fixture (mcp-fixture http --conformance)',
    proxy: 'the fixture (streamable HTTP upstream) through the proxy at /mcp/servers/fixture',
    'proxy-stdio': 'the fixture as a stdio upstream through the proxy at /mcp/servers/fixture-stdio',
    mcp: "the proxy's own /mcp (name-independent scenarios only)",
  },
  nameIndependent,
  revisions: {},
};
for (const rev of revisions) {
  const { scored, unscored } = lists(readFileSync(join(args.work, `list-${rev}.txt`), 'utf8'));
  const applicable = new Set([...scored, ...Object.keys(unscored)]);
  const targets = {};
  for (const target of TARGETS) {
    const found = results(join(args.work, 'out', target, rev));
    const wanted = target === 'mcp' ? nameIndependent.filter((s) => applicable.has(s)) : [...applicable];
    targets[target] = Object.fromEntries(wanted.map((s) =>
      [s, found[s] ?? { status: 'missing', checks: 0, failures: [] }]));
  }
  doc.revisions[rev] = { scored, unscored, targets };
}
writeFileSync(args.out, JSON.stringify(doc, null, 2) + '\n');
