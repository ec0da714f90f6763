/** Hand-built STEP datagrams for tests of what a receiver must refuse. */
import { STEP_DOCUMENT, originHash } from '../../../src/step/codec.js';

/** A document chunk header over `body`, with no checks at all. */
export function rawChunk(o: { index: number; count: number; total: number; origin?: number; version?: number }, body: Uint8Array): Uint8Array {
  const d = new Uint8Array(20 + body.length);
  const v = new DataView(d.buffer);
  d.set([STEP_DOCUMENT, 1, o.index, o.count]);
  v.setUint32(4, o.origin ?? originHash('r1'));
  v.setUint32(8, 0);
  v.setUint32(12, o.version ?? 7);
  v.setUint32(16, o.total);
  d.set(body, 20);
  return d;
}
