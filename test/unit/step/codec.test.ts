import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isNativeAccelerationEnabled } from 'msgpackr'; // loads the native string extractor when installed
import {
  CHUNK_BODY, MAX_CHUNKS, MAX_DATAGRAM, STEP_ACK, decodeDocumentBody, encodeAck, encodeDocument,
  encodeDocumentBody, encodeRequest, isStepMessage, originHash, parseMessage, type DocumentChunk,
} from '../../../src/step/codec.js';
import type { RouterDocument } from '../../../src/step/document.js';
import { Reassembler, type ReassemblyDrop } from '../../../src/step/reassembly.js';
import { prng } from '../../support/prng.js';
import { rawChunk } from './bytes.js';

const doc = (services = 2): RouterDocument => ({
  router: 'r1', authority: 'lab', version: 1_795_000_000_123, generatedAt: 1_795_000_000_123,
  services: Array.from({ length: services }, (_, i) => ({ name: `service-${i}.engineering`, reachable: i % 2 === 0 })),
  peers: [{ peer: 'r2', paths: [{ name: 'wan0->r2/wan0', vector: 'mpls', usable: true, latencyMs: 10.667, jitterMs: 1, lossPct: 0.05, mos: 4.3 }] },
    { peer: 'r3', paths: [{ name: 'wan1->r3/wan0', vector: '', usable: false }] }],
});

function chunkOf(d: Uint8Array): DocumentChunk {
  const m = parseMessage(d);
  if (m.kind !== 'chunk') throw new Error(`not a chunk: ${JSON.stringify(m)}`);
  return m;
}

test('a small document is one datagram and decodes to the same document', () => {
  const grams = encodeDocument(doc())!;
  assert.is(grams.length, 1);
  const c = chunkOf(grams[0]!);
  assert.equal([c.index, c.count, c.origin, c.version], [0, 1, originHash('r1'), 1_795_000_000_123]);
  const back = decodeDocumentBody(c.body);
  assert.ok(back.ok);
  if (back.ok) assert.equal(back.doc, doc());
});

test('a large document is chunked to <= 1,200 bytes and reassembles in any order', () => {
  const big = doc(300);
  const grams = encodeDocument(big)!;
  assert.ok(grams.length >= 3, `${grams.length} chunks`);
  for (const g of grams) assert.ok(g.length <= MAX_DATAGRAM, `${g.length} bytes`);
  const drops: ReassemblyDrop[] = [];
  const r = new Reassembler((d) => drops.push(d));
  const order = grams.map((_, i) => i).reverse();
  let done: Uint8Array | null = null;
  for (const i of order) {
    const res = r.add(0, chunkOf(grams[i]!), 0);
    if (res.kind === 'complete') done = res.body;
  }
  assert.ok(done);
  const back = decodeDocumentBody(done!);
  assert.ok(back.ok);
  if (back.ok) assert.equal(back.doc, big);
  assert.is(r.pending, 0);
  assert.equal(drops, []);
});

test('a document beyond 64 chunks is refused by the encoder', () => {
  assert.is(encodeDocument(doc(4000)), null);
  assert.ok(encodeDocumentBody(doc(4000)) === null);
});

test('request and ack round-trip; other owners of port 1280 are not STEP', () => {
  assert.equal(parseMessage(encodeRequest()), { kind: 'request' });
  assert.equal(parseMessage(encodeAck(0xdeadbeef, 2 ** 40 + 5)), { kind: 'ack', origin: 0xdeadbeef, version: 2 ** 40 + 5 });
  assert.is(encodeAck(1, 1)[0], STEP_ACK);
  assert.not.ok(isStepMessage(Uint8Array.of(0x20, 0, 0)), 'BFD');
  assert.not.ok(isStepMessage(Uint8Array.of(0xc1)), 'link test');
  assert.not.ok(isStepMessage(new Uint8Array(0)));
  assert.ok(isStepMessage(Uint8Array.of(0xc7)));
});

test('malformed datagrams become drop reasons', () => {
  const body = encodeDocumentBody(doc())!;
  const cases: [string, Uint8Array, string][] = [
    ['one byte', Uint8Array.of(0xc3), 'short'],
    ['wire version 2', Uint8Array.of(0xc4, 2, 0, 0), 'wire-version'],
    ['reserved type', Uint8Array.of(0xc6, 1, 0, 0), 'unknown-type'],
    ['request with a tail', Uint8Array.of(0xc4, 1, 0, 0, 9), 'bad-length'],
    ['ack too short', encodeAck(1, 1).subarray(0, 12), 'bad-length'],
    ['chunk header cut', rawChunk({ index: 0, count: 1, total: 0 }, new Uint8Array(0)).subarray(0, 19), 'bad-length'],
    ['zero chunks', rawChunk({ index: 0, count: 0, total: body.length }, body), 'bad-chunk-count'],
    ['65 chunks', rawChunk({ index: 0, count: MAX_CHUNKS + 1, total: body.length }, body), 'bad-chunk-count'],
    ['index = count', rawChunk({ index: 2, count: 2, total: CHUNK_BODY + 5 }, body), 'bad-chunk-index'],
    ['count does not fit the total', rawChunk({ index: 0, count: 2, total: body.length }, body), 'bad-chunk-count'],
    ['total beyond 64 chunks', rawChunk({ index: 0, count: 64, total: 64 * CHUNK_BODY + 1 }, body), 'bad-chunk-count'],
    ['body shorter than the total says', rawChunk({ index: 0, count: 1, total: body.length + 1 }, body), 'bad-length'],
    ['oversized datagram', rawChunk({ index: 0, count: 2, total: 2 * CHUNK_BODY }, new Uint8Array(CHUNK_BODY + 1)), 'bad-length'],
  ];
  for (const [what, bytes, reason] of cases) assert.equal(parseMessage(bytes), { kind: 'drop', reason }, what);
  const v = rawChunk({ index: 0, count: 1, total: 0 }, new Uint8Array(0));
  new DataView(v.buffer).setUint32(8, 0xffffffff);
  assert.equal(parseMessage(v), { kind: 'drop', reason: 'bad-version' }, 'version beyond 2^53');
});

test('truncated msgpack and wrong shapes are bad-msgpack / bad-document', () => {
  const body = encodeDocumentBody(doc())!;
  assert.equal(decodeDocumentBody(body.subarray(0, body.length - 3)), { ok: false, reason: 'bad-msgpack' });
  assert.equal(decodeDocumentBody(Uint8Array.of(0xc1)), { ok: false, reason: 'bad-document' }, 'never-used byte');
  assert.equal(decodeDocumentBody(Uint8Array.of(0x93, 1, 2, 3)), { ok: false, reason: 'bad-document' }, 'an array');
  assert.equal(decodeDocumentBody(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff)), { ok: false, reason: 'bad-msgpack' }, 'claims 4G elements');
  const noVersion = encodeDocumentBody({ ...doc(), version: -1 })!;
  assert.equal(decodeDocumentBody(noVersion), { ok: false, reason: 'bad-document' });
  const badLoss = encodeDocumentBody({ ...doc(), peers: [{ peer: 'r2', paths: [{ name: 'p', vector: '', usable: true, lossPct: 101 }] }] })!;
  assert.equal(decodeDocumentBody(badLoss), { ok: false, reason: 'bad-document' });
});

test('fuzz: random and bit-flipped STEP datagrams never throw (native string extractor on when installed)', () => {
  const rnd = prng(1280);
  const grams = encodeDocument(doc(40))!;
  const r = new Reassembler(() => {}, { maxPending: 4 });
  let complete = 0;
  for (let i = 0; i < 20_000; i++) {
    let d: Uint8Array;
    if (i % 2 === 0) {
      d = grams[Math.floor(rnd() * grams.length)]!.slice();
      for (let k = 0; k < 3; k++) d[Math.floor(rnd() * d.length)] = Math.floor(rnd() * 256);
    } else {
      d = new Uint8Array(Math.floor(rnd() * 64));
      for (let k = 0; k < d.length; k++) d[k] = Math.floor(rnd() * 256);
      if (d.length > 0) d[0] = 0xc3 + Math.floor(rnd() * 5);
    }
    const m = parseMessage(d);
    if (m.kind !== 'chunk') continue;
    const res = r.add(0, m, i);
    if (res.kind === 'complete') {
      complete++;
      decodeDocumentBody(res.body);
    }
  }
  assert.ok(r.pending <= 4);
  assert.ok(complete > 0, 'some mutated documents still reassembled and were decoded');
  assert.type(isNativeAccelerationEnabled, 'boolean');
});

test('works when msgpackr-extract is absent (a child process where it cannot be resolved)', () => {
  const codec = new URL('../../../src/step/codec.js', import.meta.url).href;
  const script = `
    const Module = require('node:module');
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      if (request.startsWith('msgpackr-extract')) throw Object.assign(new Error('absent'), { code: 'MODULE_NOT_FOUND' });
      return resolve.call(this, request, ...rest);
    };
    (async () => {
      const msgpackr = await import('msgpackr');
      const c = await import(${JSON.stringify(codec)});
      const doc = { router: 'r1', authority: 'a', version: 5, generatedAt: 5, services: [{ name: 's', reachable: true }], peers: [] };
      const g = c.encodeDocument(doc);
      const back = c.decodeDocumentBody(c.parseMessage(g[0]).body);
      console.log(JSON.stringify({ native: msgpackr.isNativeAccelerationEnabled, ok: back.ok && back.doc.services[0].name === 's' }));
    })();`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: fileURLToPath(new URL('.', import.meta.url)), encoding: 'utf8' });
  assert.equal(JSON.parse(out), { native: false, ok: true });
});

test('reassembly drops mismatched chunks, times out partial documents and bounds how many it keeps', () => {
  const drops: ReassemblyDrop[] = [];
  const r = new Reassembler((d) => drops.push(d), { timeoutMs: 100, maxPending: 2 });
  const part = (index: number, total: number, version = 7) => chunkOf(rawChunk({ index, count: 2, total, version }, new Uint8Array(Math.min(CHUNK_BODY, total - index * CHUNK_BODY))));
  assert.is(r.add(0, part(0, CHUNK_BODY + 10), 0).kind, 'pending');
  assert.is(r.add(0, part(0, CHUNK_BODY + 10), 0).kind, 'duplicate');
  assert.is(r.add(0, part(1, CHUNK_BODY + 20), 0).kind, 'dropped');
  assert.equal(drops, ['chunk-mismatch']);
  r.add(0, part(0, CHUNK_BODY + 10, 1), 0);
  r.add(0, part(0, CHUNK_BODY + 10, 2), 10);
  r.add(0, part(0, CHUNK_BODY + 10, 3), 20);
  assert.is(r.pending, 2);
  assert.equal(drops, ['chunk-mismatch', 'reassembly-overflow']);
  assert.is(r.expire(99), 0);
  assert.is(r.expire(115), 1, 'the one started at 10');
  assert.is(r.expire(200), 1);
  assert.equal(drops, ['chunk-mismatch', 'reassembly-overflow', 'reassembly-timeout', 'reassembly-timeout']);
  // the same document on another path is reassembled separately
  assert.is(r.add(1, part(0, CHUNK_BODY + 10), 300).kind, 'pending');
  assert.is(r.add(2, part(1, CHUNK_BODY + 10), 300).kind, 'pending');
  assert.is(r.add(1, part(1, CHUNK_BODY + 10), 300).kind, 'complete');
});

test.run();
