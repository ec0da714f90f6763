/**
 * The key exchange on real nodes (docs/security.md "Key exchange"): `svr lab up`, then each router gets an
 * identity (`svr identity new`) and the lab's security policy `key-exchange: handshake` with
 * `rekey-interval: 3` (metadata encrypted); both nodes reload. A UDP stream (200 datagrams/s, 15 s) crosses
 * several rekeys: the receiver counts every datagram, none lost; `svr show security` counts the rekeys and
 * shows the keys; no packet was refused for its key on either router.
 * Needs root, ip, iperf3, curl (the lab); otherwise its tests count as skipped.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { E2E_PREFIX, inNs, labFixture, pollUntil, show, svr, SVR, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}k`;
const CLIENT_NS = `${PREFIX}-client`;
const SERVER = '198.18.3.20';
const STREAM_S = 15;
const RATE = 200;

const test = requires(import.meta.url);
const { dir, env, labArgs, downSync } = labFixture(test, PREFIX, 'key-exchange');
const socket = (r: string) => join(dir, `${r}.sock`);

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

interface PathView { path: string; state: string; tx?: { keyId: number; ageMs: number; packets: number }; rekeys?: number; refused?: Record<string, number> }

async function security(router: string): Promise<PathView> {
  const r = await svr(['show', 'security', '--json', '--socket', socket(router)], env);
  assert.is(r.code, 0, show(r));
  return (JSON.parse(r.stdout) as { paths: PathView[] }).paths[0]!;
}

async function counters(router: string): Promise<Record<string, number>> {
  const r = await svr(['show', 'stats', '--json', '--socket', socket(router)], env);
  assert.is(r.code, 0, show(r));
  return JSON.parse(r.stdout) as Record<string, number>;
}

const KEY_TROUBLE = ['drop-unknown-key', 'drop-bad-hmac', 'drop-replay', 'drop-no-path-key', 'drop-metadata-decrypt'];

test(`a UDP stream across rekeys every 3 s between two nodes: nothing lost, rekeys and keys in svr show security`, async () => {
  const up = await svr(['lab', 'up', ...labArgs], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  const file = join(dir, 'authority.yaml');
  const doc = parse(readFileSync(file, 'utf8')) as { authority: { 'security-policies'?: Record<string, unknown>[]; routers: { name: string; identity?: Record<string, string> }[] } };
  for (const r of doc.authority.routers) {
    const key = join(dir, `${r.name}-identity.key`);
    const made = await svr(['identity', 'new', '--out', key], env);
    assert.is(made.code, 0, show(made));
    r.identity = { 'public-key': made.stdout.trim(), 'private-key-file': key };
  }
  doc.authority['security-policies'] = [{ name: 'internal', encrypt: true, 'key-exchange': 'handshake', 'rekey-interval': 3 }];
  writeFileSync(file, stringify(doc));
  for (const r of ['r1', 'r2']) {
    const reload = await svr(['node', 'reload', '--socket', socket(r)], env);
    assert.is(reload.code, 0, show(reload));
  }
  // keys on both ends, and the path usable again (BFD over the new keys, then its hold-down)
  await pollUntil('keys on both routers', 15_000, async () => ((await security('r1')).tx && (await security('r2')).tx ? true : undefined));
  await pollUntil('an echo through the routers', 20_000, async () => ((await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7', '--timeout', '500'], 5000)).code === 0 ? true : undefined));
  const before = await Promise.all([security('r1'), counters('r1'), counters('r2')]);
  const sent = await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'send-stream', '--rate', String(RATE), '--duration', `${STREAM_S}s`, '--id', '3131', '--json'], (STREAM_S + 20) * 1000);
  assert.is(sent.code, 0, show(sent));
  const stats = await pollUntil('the stream counted', 5000, async () => {
    const r = await inNs(CLIENT_NS, 'curl', ['-sS', '-m', '3', `http://${SERVER}/stream-stats/3131`]);
    const s = r.code === 0 ? (JSON.parse(r.stdout) as { received: number; expected: number; lost: number; ended?: boolean }) : undefined;
    return s?.ended === true ? s : undefined;
  });
  const after = await Promise.all([security('r1'), counters('r1'), counters('r2')]);
  const rekeys = after[0].rekeys! - before[0].rekeys!;
  const trouble = KEY_TROUBLE.map((c) => `${c} ${after[1][c]! - before[1][c]!}/${after[2][c]! - before[2][c]!}`);
  console.log(`    ${stats.received} of ${stats.expected} datagrams received, ${stats.lost} lost, across ${rekeys} rekeys (r1 now sends with key id ${after[0].tx?.keyId}, `
    + `${after[0].tx?.packets} packets, ${((after[0].tx?.ageMs ?? 0) / 1000).toFixed(1)} s old); key drops r1/r2: ${trouble.join(', ')}`);
  assert.ok(rekeys >= 3, `several rekeys during the stream (${rekeys})`);
  assert.is(stats.lost, 0, 'nothing lost');
  assert.is(stats.received, stats.expected);
  for (const c of KEY_TROUBLE) {
    assert.is(after[1][c]! - before[1][c]!, 0, `r1 ${c}`);
    assert.is(after[2][c]! - before[2][c]!, 0, `r2 ${c}`);
  }
  assert.is(after[0].state.length > 0, true);
});

test.run();
