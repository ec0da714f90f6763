import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KW4, writeKeyFromBytes } from '../../../src/dataplane/flow-key.js';
import { KEY_LAN, KEY_WAN_OURS, Ownership } from '../../../src/dataplane/ownership.js';
import { createSteering, defaultOwner } from '../../../src/dataplane/steering.js';

const fwd = new Uint8Array([198, 18, 1, 10, 198, 18, 3, 20]);
const rev = new Uint8Array([198, 18, 3, 20, 198, 18, 1, 10]);

function key(addrs: Uint8Array, srcPort: number, dstPort: number): Uint32Array {
  const k = new Uint32Array(16);
  writeKeyFromBytes(k, 4, addrs, 0, 4, srcPort, dstPort, 17, 0);
  return k;
}

/** Two workers' views of the same steering tables. */
function pair(whereLanded: boolean): Ownership[] {
  const steering = createSteering(2, 64);
  return [0, 1].map((index) => new Ownership({ index, count: 2, steering, send: () => undefined, whereLanded }));
}

test('owned where it landed: a LAN flow no worker recorded belongs to the worker that got it; once claimed, both directions go to its owner from either worker', () => {
  const [w0, w1] = pair(true);
  for (let p = 40000; p < 40040; p++) {
    const k = key(fwd, p, 7);
    assert.is(w0!.ownerOf(k, 4, false, 7), 0);
    assert.is(w1!.ownerOf(k, 4, false, 7), 1, 'no hand-off of a first packet, whatever the hash says');
    const owner = p % 2 === 0 ? w0! : w1!;
    assert.ok(owner.claim(k, 4, KEY_LAN));
    for (const w of [w0!, w1!]) {
      assert.is(w.ownerOf(k, 4, false, 7), owner.index);
      assert.is(w.ownerOf(key(rev, 7, p), 4, false, p), owner.index, 'the reply too');
    }
    owner.release(k, 4);
    assert.is(w0!.ownerOf(k, 4, false, 7), 0, 'released: new again');
  }
  // WAN packets: the destination port's slice, recorded or not
  assert.ok(w1!.claim(key(fwd, 16386, 16387), 4, KEY_WAN_OURS));
  assert.is(w0!.ownerOf(key(fwd, 16387, 16386), 4, true, 16386), (16386 >> 1) % 2);
  assert.is(w0!.table.size + w1!.table.size, 0, 'WAN keys are never recorded');
});

test('SVR_OWN_WHERE_LANDED=0: a LAN flow belongs to the hash of its 5-tuple, and only keys the hash does not guess are recorded', () => {
  const [w0, w1] = pair(false);
  let recorded = 0;
  for (let p = 40000; p < 40040; p++) {
    const k = key(fwd, p, 7);
    const d = defaultOwner(k, KW4, 2);
    for (const w of [w0!, w1!]) assert.is(w.ownerOf(k, 4, false, 7), d);
    assert.ok(w1!.claim(k, 4, KEY_LAN));
    if (d !== 1) recorded++;
    assert.is(w0!.ownerOf(k, 4, false, 7), 1);
  }
  assert.ok(recorded > 0 && recorded < 40);
  assert.is(w1!.table.size, recorded);
});

test.run();
