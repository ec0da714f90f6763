/**
 * A tx key replaced while tags are queued under it (a held control batch: originate.ts signs held packets when the
 * hold ends) still signs them: its handles stay TX_RELEASE_MS and are destroyed at a later key change. Destroyed at
 * once, a rekey inside a hold made the flush throw "the HMAC was destroyed" (r2 stopped in e2e key-exchange).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BatchHmac } from '../../../src/crypto/native-crypto.js';
import type { ForwardingTables } from '../../../src/model/tables.js';
import { TagBatch } from '../../../src/dataplane/batch-tags.js';
import { PathKeys, TX_RELEASE_MS, type PathKeyMaterial } from '../../../src/dataplane/path-keys.js';

const tables = { paths: [{ name: 'wan1', hmac: { mode: 'static', cipher: 'sha256', rekeyDelayMs: 0 }, keyExchange: 'handshake' }] } as unknown as ForwardingTables;
const material = (keyId: number, fill: number): PathKeyMaterial => ({ keyId, securityId: keyId, hmacKey: new Uint8Array(32).fill(fill) });

test('a tx key replaced by the next packet of a hold still signs the tags queued under it; destroyed at a key change TX_RELEASE_MS later', () => {
  const keys = new PathKeys();
  keys.setTables(tables, 1000);
  const a = material(1, 0xa1);
  keys.install(0, { tx: a }, 1000);
  const old = keys.tx(0, 1000)!;
  assert.is(old.keyId, 1);
  const d = new Uint8Array(256).map((_, i) => i);
  const tags = new TagBatch();
  tags.add(0, old.hmac, -1, 0, 100); // the held packet's region, signed when the hold ends
  keys.install(0, { tx: material(2, 0xb2) }, 1000, 1000); // a rekey within the hold
  assert.is(keys.tx(0, 1000)!.keyId, 2, 'the next packet of the hold sends with the new key');
  tags.sign(d); // threw "the HMAC was destroyed" when the old key was destroyed at the switch
  const want = new Uint8Array(256).map((_, i) => i);
  BatchHmac.create('sha256', a.hmacKey).signBatch(want, new Uint32Array([0]), new Uint32Array([100]), 1, -1);
  assert.equal(d.subarray(100, 132), want.subarray(100, 132), 'the tag is the old key\'s');
  keys.install(0, { rx: material(3, 0xc3) }, 1000 + TX_RELEASE_MS - 1);
  old.hmac.signBatch(d, new Uint32Array([0]), new Uint32Array([100]), 1, -1); // still held
  keys.install(0, { rx: material(4, 0xd4) }, 1000 + TX_RELEASE_MS);
  assert.throws(() => old.hmac.signBatch(d, new Uint32Array([0]), new Uint32Array([100]), 1, -1), /destroyed/, 'released at the key change after TX_RELEASE_MS');
});

test('a dropped path\'s tx key is released the same way', () => {
  const keys = new PathKeys();
  keys.setTables(tables, 0);
  keys.install(0, { tx: material(1, 0x11) }, 0);
  const k = keys.tx(0, 0)!;
  keys.dropKeys(0, 10);
  assert.is(keys.tx(0, 10), null);
  k.hmac.signBatch(new Uint8Array(64), new Uint32Array([0]), new Uint32Array([16]), 1, -1);
  keys.dropKeys(0, 10 + TX_RELEASE_MS);
  assert.throws(() => k.hmac.signBatch(new Uint8Array(64), new Uint32Array([0]), new Uint32Array([16]), 1, -1), /destroyed/);
});

test.run();
