import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GF_MUL, gfInvert, gfPow } from '../../../src/packet/gf256.js';
import { FEC_HEADER_LENGTH, fecCount, fecGroup, fecParities, fecRow, fecTagGroup, fecTagIndex, fecVectorLength, isFecParity, writeFecHeader, writeFecTag } from '../../../src/packet/svr-fec.js';
import { COOKIE, scanMetadata, MetadataView, MetaError } from '../../../src/packet/svr-metadata.js';

test('GF(2^8): 2 generates the group, x * x^-1 = 1 through gfInvert, a Vandermonde system solves', () => {
  const seen = new Set<number>();
  for (let e = 0; e < 255; e++) seen.add(gfPow(e));
  assert.is(seen.size, 255);
  assert.is(GF_MUL[(0x53 << 8) | 0xca], GF_MUL[(0xca << 8) | 0x53]);
  // rows 0..2 of the code over data packets 1, 4, 9: invert and multiply back to the identity
  const cols = [1, 4, 9];
  const m = new Uint8Array(9);
  for (let j = 0; j < 3; j++) for (let q = 0; q < 3; q++) m[j * 3 + q] = gfPow(j * cols[q]!);
  const copy = m.slice();
  const inv = new Uint8Array(9);
  assert.ok(gfInvert(m, 3, inv));
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      let x = 0;
      for (let k = 0; k < 3; k++) x ^= GF_MUL[(inv[r * 3 + k]! << 8) | copy[k * 3 + c]!]!;
      assert.is(x, r === c ? 1 : 0, `(${r},${c})`);
    }
  }
  assert.not.ok(gfInvert(Uint8Array.of(1, 1, 1, 1), 2, new Uint8Array(4)), 'a singular matrix is refused');
});

test('parity header and data tag: golden bytes; a parity packet is never taken for metadata', () => {
  const b = new Uint8Array(FEC_HEADER_LENGTH + 4);
  writeFecHeader(b, 0, 10, 3, 0x01020304, 2, 406);
  assert.equal([...b.subarray(0, FEC_HEADER_LENGTH)], [...COOKIE, 0xf0, 1, 10, 3, 1, 2, 3, 4, 2, 0, 0x01, 0x96, 0, 0, 0, 0]);
  assert.ok(isFecParity(b, 0, b.length));
  assert.equal([fecCount(b, 0), fecParities(b, 0), fecGroup(b, 0), fecRow(b, 0), fecVectorLength(b, 0)], [10, 3, 0x01020304, 2, 406]);
  assert.is(scanMetadata(b, 0, b.length, new MetadataView()), MetaError.BadVersion);
  const t = new Uint8Array(4);
  writeFecTag(t, 0, 0x123456, 7);
  assert.equal([...t], [0x12, 0x34, 0x56, 7]);
  assert.equal([fecTagGroup(t, 0), fecTagIndex(t, 0)], [0x123456, 7]);
  assert.not.ok(isFecParity(b, 0, FEC_HEADER_LENGTH - 1), 'too short');
});

test.run();
