/**
 * TLS ClientHello -> server_name (RFC 8446 §4.1.2, RFC 6066 §3), read from one TCP segment with strict
 * bounds: every length is checked against both its enclosing structure and the bytes present; nothing
 * throws, nothing allocates. The record may continue in later segments (no reassembly): the name is found
 * when it lies in the bytes at hand.
 *
 *   record: type 22, version 3.x, length | handshake: type 1, length(3) | version(2) random(32)
 *   session_id<1> cipher_suites<2> compression<1> extensions<2> | extension: type(2) length(2) data
 *   server_name (type 0): list<2> of { name_type(1) = 0 host_name, name<2> }
 */
import { Span, TLS_NONE, TLS_NO_SNI, TLS_PARTIAL, TLS_SNI } from './span.js';

export function clientHelloSni(d: Uint8Array, off: number, end: number, out: Span): number {
  if (end - off < 6 || d[off] !== 22 || d[off + 1] !== 3 || d[off + 5] !== 1) return TLS_NONE;
  const recEnd = Math.min(off + 5 + u16(d, off + 3), end);
  let p = off + 5;
  if (p + 4 > recEnd) return TLS_PARTIAL;
  const declared = p + 4 + ((d[p + 1]! << 16) | u16(d, p + 2));
  const hsEnd = Math.min(declared, recEnd);
  // running out of bytes: the rest may follow (partial), unless the whole message is here (malformed)
  const short = declared <= recEnd ? TLS_NO_SNI : TLS_PARTIAL;
  p += 4 + 2 + 32; // handshake header, client_version, random
  if (p + 1 > hsEnd) return short;
  p += 1 + d[p]!; // session_id
  if (p + 2 > hsEnd) return short;
  p += 2 + u16(d, p); // cipher_suites
  if (p + 1 > hsEnd) return short;
  p += 1 + d[p]!; // compression_methods
  if (p + 2 > hsEnd) return short; // no extensions
  const extEnd = Math.min(p + 2 + u16(d, p), hsEnd);
  p += 2;
  while (p + 4 <= extEnd) {
    const type = u16(d, p);
    const len = u16(d, p + 2);
    const body = p + 4;
    if (body + len > extEnd) return short;
    if (type === 0) return serverName(d, body, body + len, out);
    p = body + len;
  }
  return short;
}

function serverName(d: Uint8Array, p: number, end: number, out: Span): number {
  if (p + 2 > end) return TLS_NO_SNI;
  const listEnd = Math.min(p + 2 + u16(d, p), end);
  p += 2;
  while (p + 3 <= listEnd) {
    const kind = d[p]!;
    const len = u16(d, p + 1);
    if (p + 3 + len > listEnd) return TLS_NO_SNI;
    if (kind === 0 && len > 0) {
      out.start = p + 3;
      out.len = len;
      return TLS_SNI;
    }
    p += 3 + len;
  }
  return TLS_NO_SNI;
}

function u16(d: Uint8Array, p: number): number {
  return (d[p]! << 8) | d[p + 1]!;
}
