/** What the tests of the native finishes (steady-send, steady-receive) share: their config and the counters they compare. */
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import type { SvrConfig } from '../../src/model/config.js';
import type { MemoryLab } from '../../src/sim/memory-lab.js';
import { until } from './config.js';
import { exampleConfig } from './config.js';

export type SteadyCipher = 'none' | 'aes-cbc-256' | 'aes-gcm-256';

/** The example config, every packet signed (regular), payloads sealed with `cipher` ('none': HMAC only), TCP as UDP when asked. */
export async function steadyConfig(cipher: SteadyCipher, asUdp: boolean): Promise<SvrConfig> {
  const c = await exampleConfig();
  c.authority.securityPolicies.push({
    name: 'steady', hmacMode: 'regular', hmacCipher: 'sha256-128', encrypt: cipher !== 'none', encryptionCipher: cipher === 'none' ? 'aes-cbc-256' : cipher,
    adaptiveEncryption: false, keyVersion: 1, rekeyDelay: 30, keyExchange: 'static', rekeyInterval: 120,
  });
  for (const s of c.authority.services) s.security = 'steady';
  c.authority.securityPolicies.find((p) => p.name === 'internal')!.hmacMode = 'regular'; // the path's: every packet signed, no time slot
  for (const r of c.authority.routers) r.interfaces.find((i) => i.kind === 'wan')!.mtu = 1500;
  if (asUdp) for (const r of c.authority.routers) for (const i of r.interfaces) for (const n of i.neighborhoods) n.udpTransform = { mode: 'always-transform', detectInterval: 300 };
  return c;
}

/** The counters a switch must not change: drops, sessions, sealing, transforms (not the timing-dependent re-signals). */
export function steadyCounters(c: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(c).filter(([k]) => k.startsWith('drop-') || k.startsWith('sessions-') || k.includes('sealed') || k.includes('transformed')));
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A TCP transfer each way between the lab's first client and server (port 80): `up` bytes up, `down` back; asserts both arrive intact. */
export async function steadyTransfer(lab: MemoryLab, up: number, down: number): Promise<void> {
  const upData = randomBytes(up), downData = randomBytes(down);
  let serverGot = '';
  lab.servers[0]!.tcpListen(80, (c) => void c.readAll().then((d) => { serverGot = sha(d); c.write(downData); c.end(); }));
  const conn = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
  conn.write(upData);
  conn.end();
  assert.is(sha(await conn.readAll()), sha(downData), 'the download');
  assert.ok(await until(() => serverGot !== ''));
  assert.is(serverGot, sha(upData), 'the upload');
}
