/**
 * The counter table (src/dataplane/counter-names.ts) is the one place counters are documented: every counter
 * a router registers is in it, it names no counter the code lacks, and docs/embedding.md and
 * `svr show stats --help` are generated from it (SVR_UPDATE_DOCS=1 rewrites the docs block).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COUNTER_NAMES } from '../../../src/dataplane/counter-names.js';
import { countersMarkdown } from '../../../src/cli/counters-help.js';
import { findPackageRoot } from '../../../src/native/addon.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig } from '../../support/config.js';

const root = findPackageRoot();
/** Registered on first use (adaptive encryption's first decision), or when a plugin stage or record channel is installed. */
const LATE = ['sessions-adaptive-plain', 'drop-by-plugin', 'plugin-stage-errors', 'plugin-records-lost'];

test('every counter a router registers is in the table, and the table names only counters the code has', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: [], servers: [] });
  try {
    const registered = Object.keys(lab.r1.host.counters());
    const table = new Set<string>(COUNTER_NAMES);
    assert.equal(registered.filter((n) => !table.has(n) && !n.startsWith('plugin.') && !/^interface\.[^.]+\.(rx|tx)-(packets|bytes)$/.test(n)), [], 'registered but not documented');
    const control = ['handshakes-failed', 'service-moves', 'paths-suppressed', 'nat-peer-address-changes', 'nat-rebinds', 'nat-rebinds-damped', 'nat-address-malformed', 'firewall-probes-answered', 'firewall-probe-acks', 'firewall-probe-malformed', 'udp-transform-activations', 'firewall-verdicts-sent', 'firewall-verdicts-received'];
    const missing = COUNTER_NAMES.filter((n) => !registered.includes(n) && !control.includes(n));
    assert.equal(missing, LATE, 'documented but never registered');
    await lab.r1.applyPlugins([{ use: 'svrouter/plugins/firewall', with: { zones: {}, allow: [] }, baseDir: root, at: 'p' }], { services: { web: ['builtin.firewall/inspect'] } });
    const withPlugin = Object.keys(lab.r1.host.counters());
    assert.ok(withPlugin.includes('drop-by-plugin') && withPlugin.includes('plugin-stage-errors'), 'a plugin stage registers its counters');
    const all = lab.r1.counters();
    for (const n of COUNTER_NAMES) assert.type(all[n], 'number', `router.counters() has ${n}`);
  } finally {
    await lab.close();
  }
});

test('docs/embedding.md has the counter table generated from counter-names.ts', () => {
  const file = join(root, 'docs', 'embedding.md');
  const doc = readFileSync(file, 'utf8');
  const m = /(<!-- counters:begin -->\n)([\s\S]*?)\n?(<!-- counters:end -->)/.exec(doc);
  assert.ok(m !== null, 'docs/embedding.md has <!-- counters:begin --> ... <!-- counters:end -->');
  const want = countersMarkdown();
  if (m![2] !== want && process.env['SVR_UPDATE_DOCS'] === '1') writeFileSync(file, doc.replace(m![0], `${m![1]}${want}\n${m![3]}`));
  else assert.fixture(m![2]!, want, 'regenerate with SVR_UPDATE_DOCS=1 npx uvu dist/test counter-names');
});

test('svr show stats --help lists every counter', () => {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'svr.js'), 'show', 'stats', '--help'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  for (const n of COUNTER_NAMES) assert.match(r.stdout, new RegExp(`^  ${n} `, 'm'), n);
});

test.run();
