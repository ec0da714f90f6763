/**
 * A path's authentication settings as one byte per path (src/dataplane/path-auth.ts, DataplaneContext.pathAuth and
 * pathTagLength): what wan-verify, `originate` and sign.ts read per packet instead of the path's objects. The bytes
 * say what the compiled path says, for every HMAC mode, and follow new tables.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileRouter } from '../../../src/model/compile.js';
import { DataplaneContext } from '../../../src/dataplane/context.js';
import { PA_ALL_SIGNED, PA_HANDSHAKE, PA_OUTBOUND_ONLY, PA_PEER_BEHIND_NAT, PA_SIGNED, PA_TIME_BASED } from '../../../src/dataplane/path-auth.js';
import type { ForwardingTables } from '../../../src/model/tables.js';
import type { HmacMode } from '../../../src/model/config.js';
import { exampleConfig } from '../../support/config.js';

async function tablesWith(mode: HmacMode): Promise<ForwardingTables> {
  const config = await exampleConfig();
  for (const p of config.authority.securityPolicies) p.hmacMode = mode;
  return compileRouter(config, 'r1', 1);
}

const WANT: Record<HmacMode, number> = {
  'disabled': 0,
  'metadata-only': PA_SIGNED,
  'regular': PA_SIGNED | PA_ALL_SIGNED,
  'time-based': PA_SIGNED | PA_ALL_SIGNED | PA_TIME_BASED,
};

test('every HMAC mode: the path bytes say what the compiled path says, and follow new tables', async () => {
  const modes = Object.keys(WANT) as HmacMode[];
  const ctx = new DataplaneContext(await tablesWith('regular'));
  // each mode after another: a context's bytes are those of its latest tables
  for (const mode of [...modes, ...modes.slice().reverse()]) {
    const t = await tablesWith(mode);
    ctx.setTables(t);
    assert.ok(t.paths.length > 0);
    for (const p of t.paths) {
      assert.is(p.hmac.mode, mode);
      assert.is(ctx.pathAuth[p.id], WANT[mode], `${mode}: ${p.name}`);
      assert.is(ctx.pathTagLength[p.id], p.hmac.tagLength, `${mode}: ${p.name}'s tag length`);
    }
  }
});

test('a peer behind NAT, an outbound-only path and key exchange by handshake each set their bit', async () => {
  const t = await tablesWith('regular');
  const ctx = new DataplaneContext(t);
  const [a, ...rest] = t.paths;
  assert.ok(a !== undefined);
  const cases: [Partial<typeof a>, number][] = [
    [{ peerBehindNat: true }, PA_PEER_BEHIND_NAT],
    [{ outboundOnly: true }, PA_OUTBOUND_ONLY],
    [{ keyExchange: 'handshake' }, PA_HANDSHAKE],
  ];
  for (const [change, bit] of cases) {
    ctx.setTables({ ...t, paths: [{ ...a, peerBehindNat: false, outboundOnly: false, keyExchange: 'static', ...change }, ...rest] });
    assert.is(ctx.pathAuth[a.id], PA_SIGNED | PA_ALL_SIGNED | bit, JSON.stringify(change));
  }
  ctx.setTables(t);
  assert.is(ctx.pathAuth[a.id]! & (PA_PEER_BEHIND_NAT | PA_OUTBOUND_ONLY | PA_HANDSHAKE), (a.peerBehindNat ? PA_PEER_BEHIND_NAT : 0)
    | (a.outboundOnly ? PA_OUTBOUND_ONLY : 0) | (a.keyExchange === 'handshake' ? PA_HANDSHAKE : 0));
});

test.run();
