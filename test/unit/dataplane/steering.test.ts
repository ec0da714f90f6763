import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { KW4, writeKeyFromBytes } from '../../../src/dataplane/flow-key.js';
import { SteeringTable, createSteering, defaultOwner } from '../../../src/dataplane/steering.js';

const addrs = new Uint8Array([198, 18, 1, 10, 198, 18, 3, 20]);

function keyFor(srcPort: number, dstPort = 7): Uint32Array {
  const k = new Uint32Array(16);
  writeKeyFromBytes(k, 4, addrs, 0, 4, srcPort, dstPort, 17, 0);
  return k;
}

test('default owner: flows that differ only in the source port spread evenly over the workers', () => {
  for (const workers of [2, 3, 4]) {
    const per = new Array<number>(workers).fill(0);
    for (let p = 40000; p < 44000; p++) per[defaultOwner(keyFor(p), KW4, workers)]!++;
    for (const n of per) assert.ok(Math.abs(n - 4000 / workers) < (4000 / workers) * 0.1, `${workers} workers: ${per}`);
  }
});

test('default owner: both directions of a flow agree (the key is normalized)', () => {
  const a = new Uint32Array(16), b = new Uint32Array(16);
  const rev = new Uint8Array([198, 18, 3, 20, 198, 18, 1, 10]);
  for (let p = 40000; p < 40100; p++) {
    writeKeyFromBytes(a, 4, addrs, 0, 4, p, 80, 6, 0);
    writeKeyFromBytes(b, 4, rev, 0, 4, 80, p, 6, 0);
    assert.is(defaultOwner(a, KW4, 3), defaultOwner(b, KW4, 3));
  }
});

test('steering table: insert, lookup, remove; a deleted slot does not end a probe chain', () => {
  const t = new SteeringTable(createSteering(16));
  for (let p = 0; p < 12; p++) assert.ok(t.insert(keyFor(50000 + p), KW4, p % 3));
  for (let p = 0; p < 12; p++) assert.is(t.lookup(keyFor(50000 + p), KW4), p % 3);
  t.remove(keyFor(50000), KW4, 0);
  assert.is(t.lookup(keyFor(50000), KW4), -1);
  for (let p = 1; p < 12; p++) assert.is(t.lookup(keyFor(50000 + p), KW4), p % 3);
  assert.is(t.lookup(keyFor(60000), KW4), -1);
  // re-recording a key that sits past a deleted slot updates it, it does not add a second entry
  t.insert(keyFor(50005), KW4, 2);
  t.remove(keyFor(50005), KW4, 2);
  assert.is(t.lookup(keyFor(50005), KW4), -1);
});

test('steering table: an entry written in one thread is read in another', async () => {
  const shared = createSteering(1024);
  const t = new SteeringTable(shared);
  for (let p = 0; p < 500; p++) t.insert(keyFor(30000 + p), KW4, 1);
  const url = new URL('../../../src/dataplane/steering.js', import.meta.url).href;
  const flowKey = new URL('../../../src/dataplane/flow-key.js', import.meta.url).href;
  const src = `
    const { workerData, parentPort } = require('node:worker_threads');
    Promise.all([import(${JSON.stringify(url)}), import(${JSON.stringify(flowKey)})]).then(([s, fk]) => {
      const t = new s.SteeringTable(workerData);
      const a = new Uint8Array([198, 18, 1, 10, 198, 18, 3, 20]);
      let found = 0;
      for (let p = 0; p < 500; p++) {
        const k = new Uint32Array(16);
        fk.writeKeyFromBytes(k, 4, a, 0, 4, 30000 + p, 7, 17, 0);
        if (t.lookup(k, fk.KW4) === 1) found++;
      }
      parentPort.postMessage(found);
    });`;
  const w = new Worker(src, { eval: true, workerData: shared });
  const found = await new Promise<number>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  await w.terminate();
  assert.is(found, 500);
});

test.run();
