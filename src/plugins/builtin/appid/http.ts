/**
 * HTTP/1.x request -> Host header value (RFC 9112 §3.2), from one TCP segment: the request line must start
 * with a known method and a space; headers are scanned line by line up to the blank line or the end of the
 * bytes at hand. The span excludes a `:port` suffix and surrounding blanks. No allocation, never throws.
 */
import { HTTP_HOST, HTTP_NONE, HTTP_PARTIAL, type Span } from './span.js';

// GET POST PUT HEAD DELETE OPTIONS PATCH CONNECT TRACE, each followed by a space
const METHODS = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'DELETE ', 'OPTIONS ', 'PATCH ', 'CONNECT ', 'TRACE '].map((m) => Uint8Array.from(m, (c) => c.charCodeAt(0)));
const CR = 13;
const LF = 10;

export function httpHost(d: Uint8Array, off: number, end: number, out: Span): number {
  if (!startsWithMethod(d, off, end)) return HTTP_NONE;
  let p = lineEnd(d, off, end); // skip the request line
  while (p < end) {
    const eol = lineEnd(d, p, end);
    if (eol === end && (end === p || d[end - 1] !== LF)) return HTTP_PARTIAL; // a cut line
    const len = contentLength(d, p, eol);
    if (len === 0) return HTTP_NONE; // blank line: headers over, no Host (HTTP/1.0)
    if (len > 5 && isHost(d, p)) return value(d, p + 5, p + len, out) ? HTTP_HOST : HTTP_NONE;
    p = eol;
  }
  return HTTP_PARTIAL;
}

function startsWithMethod(d: Uint8Array, off: number, end: number): boolean {
  for (const m of METHODS) {
    if (off + m.length > end) continue;
    let k = 0;
    while (k < m.length && d[off + k] === m[k]) k++;
    if (k === m.length) return true;
  }
  return false;
}

/** Offset just past the LF ending the line at p, or `end`. */
function lineEnd(d: Uint8Array, p: number, end: number): number {
  while (p < end && d[p] !== LF) p++;
  return p < end ? p + 1 : end;
}

/** Length of the line at p without its CR LF. */
function contentLength(d: Uint8Array, p: number, eol: number): number {
  let e = eol;
  if (e > p && d[e - 1] === LF) e--;
  if (e > p && d[e - 1] === CR) e--;
  return e - p;
}

/** `host:` in any case */
function isHost(d: Uint8Array, p: number): boolean {
  return (d[p]! | 0x20) === 0x68 && (d[p + 1]! | 0x20) === 0x6f && (d[p + 2]! | 0x20) === 0x73 && (d[p + 3]! | 0x20) === 0x74 && d[p + 4] === 0x3a;
}

function value(d: Uint8Array, p: number, e: number, out: Span): boolean {
  while (p < e && (d[p] === 0x20 || d[p] === 0x09)) p++;
  while (e > p && (d[e - 1] === 0x20 || d[e - 1] === 0x09)) e--;
  if (p < e && d[p] === 0x5b) return false; // [IPv6 literal]
  let c = p;
  while (c < e && d[c] !== 0x3a) c++; // drop :port
  if (c === p) return false;
  out.start = p;
  out.len = c - p;
  return true;
}
