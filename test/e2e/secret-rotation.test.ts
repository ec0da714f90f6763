/**
 * Rotating the authority secret on real nodes (docs/security.md "Rotating the authority secret"): `svr lab up`,
 * an echo through r1 and r2; the lab's authority.yaml gets a new `secret` (same key-version), r1 reloads, then
 * r2. Once both reloaded, an echo crosses again within BFD's detection time plus the path's hold-down, not
 * after rekey-delay (30 s).
 * Needs root, ip, iperf3, curl (the lab); otherwise its tests count as skipped.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { E2E_PREFIX, inNs, labFixture, pollUntil, show, svr, SVR, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}s`;
const CLIENT_NS = `${PREFIX}-client`;
const SERVER = '198.18.3.20';

const test = requires(import.meta.url);
const { dir, env, labArgs, downSync } = labFixture(test, PREFIX, 'secret-rotation');
const socket = (r: string) => join(dir, `${r}.sock`);

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

const echoes = async (): Promise<true | undefined> =>
  ((await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7', '--timeout', '500'], 5000)).code === 0 ? true : undefined);

test('a new authority secret reloaded on both nodes: the path carries an echo again within detection time and hold-down', async () => {
  const up = await svr(['lab', 'up', ...labArgs], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  await pollUntil('an echo through the routers', 20_000, echoes);
  const file = join(dir, 'authority.yaml');
  const doc = parse(readFileSync(file, 'utf8')) as { authority: { secret: string } };
  doc.authority.secret = randomBytes(32).toString('hex');
  writeFileSync(file, stringify(doc));
  const reload = async (r: string): Promise<void> => {
    const done = await svr(['node', 'reload', '--socket', socket(r)], env);
    assert.is(done.code, 0, show(done));
  };
  await reload('r1');
  await new Promise((r) => setTimeout(r, 4000)); // BFD expires meanwhile: only r1 has the new keys
  await reload('r2');
  const t0 = Date.now();
  // detection 3 s + hold-down 5 s, with a margin for load; rekey-delay (30 s) must not be waited for
  await pollUntil('an echo after both reloaded', 18_000, echoes);
  console.log(`    echo again ${((Date.now() - t0) / 1000).toFixed(1)} s after the second reload`);
});

test.run();
