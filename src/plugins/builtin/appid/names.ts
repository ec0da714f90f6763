/**
 * Host names from packet bytes: letters, digits, '-', '_' and '.', 1-253 characters, lowercased, one
 * trailing dot dropped. Anything else is not a name (null). Makes one string: call once per session.
 */
const decoder = new TextDecoder('latin1');

export function hostName(d: Uint8Array, start: number, len: number): string | null {
  if (len > 0 && d[start + len - 1] === 0x2e) len--; // `example.com.`
  if (len < 1 || len > 253 || d[start] === 0x2e) return null;
  let upper = false;
  for (let i = start; i < start + len; i++) {
    const c = d[i]!;
    if (c >= 0x41 && c <= 0x5a) upper = true;
    else if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f)) return null;
  }
  const s = decoder.decode(d.subarray(start, start + len));
  return upper ? s.toLowerCase() : s;
}
