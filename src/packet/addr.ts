/**
 * IP addresses and prefixes as bytes: parse text (`198.18.3.0/24`, `2001:db8::/32`) into
 * `{ family, bytes, length }`, format bytes back to text (IPv6 as RFC 5952: lower case, no leading
 * zeros, the longest run of two or more zero groups shortened to `::`), and compare.
 * Parsing returns `undefined` on bad input; nothing here throws.
 */

export type AddressFamily = 4 | 6;

/** An address or prefix. For an address `length` is 32 or 128. `bytes` has 4 or 16 entries. */
export interface ParsedPrefix {
  readonly family: AddressFamily;
  readonly bytes: Uint8Array;
  readonly length: number;
}
export type ParsedAddress = ParsedPrefix;

/** Bytes of an address of this family: 4 or 16. */
export function addressSize(family: AddressFamily): 4 | 16 {
  return family === 4 ? 4 : 16;
}

/** Bits of an address of this family: 32 or 128. */
export function addressBits(family: AddressFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/** Parse `198.18.1.7` or `2001:db8::1` (no prefix length, no zone id). */
export function parseAddress(text: string): ParsedAddress | undefined {
  if (text.includes(':')) {
    const bytes = new Uint8Array(16);
    return parseIpv6(text, bytes) ? { family: 6, bytes, length: 128 } : undefined;
  }
  const bytes = new Uint8Array(4);
  return parseIpv4(text, bytes, 0) ? { family: 4, bytes, length: 32 } : undefined;
}

/** Parse `addr/len` or a bare address (= /32 or /128). Host bits are kept as written; see `hasHostBits`. */
export function parsePrefix(text: string): ParsedPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash === -1) return parseAddress(text);
  const addr = parseAddress(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (addr === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return undefined;
  const length = Number(lenText);
  if (length > addressBits(addr.family)) return undefined;
  return { family: addr.family, bytes: addr.bytes, length };
}

/** True when bits after the prefix length are set (`10.0.0.1/24`). */
export function hasHostBits(prefix: ParsedPrefix): boolean {
  const { bytes, length } = prefix;
  for (let bit = length; bit < bytes.length * 8; bit++) {
    if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return true;
  }
  return false;
}

/** The same prefix with host bits cleared (`10.0.0.1/24` -> `10.0.0.0/24`). */
export function maskPrefix(prefix: ParsedPrefix): ParsedPrefix {
  const bytes = prefix.bytes.slice();
  for (let bit = prefix.length; bit < bytes.length * 8; bit++) {
    bytes[bit >> 3] = bytes[bit >> 3]! & ~(0x80 >> (bit & 7));
  }
  return { family: prefix.family, bytes, length: prefix.length };
}

/** Does the prefix contain the address at buf[off] of `family`? Allocation-free. */
export function prefixContains(prefix: ParsedPrefix, buf: Uint8Array, off: number, family: AddressFamily): boolean {
  return prefix.family === family && bitsEqual(prefix.bytes, 0, buf, off, prefix.length);
}

/** Compare the first `bits` bits of a[aOff..] and b[bOff..]. Allocation-free. */
export function bitsEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[aOff + whole]! ^ b[bOff + whole]!) & mask) === 0;
}

/** Equal addresses of `family` at a[aOff] and b[bOff]. Allocation-free. */
export function addressesEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, family: AddressFamily): boolean {
  const n = addressSize(family);
  for (let i = 0; i < n; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** Order addresses: IPv4 before IPv6, then numerically. Returns <0, 0 or >0 (for sorting). */
export function compareAddresses(a: ParsedAddress, b: ParsedAddress): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let i = 0; i < a.bytes.length; i++) {
    const d = a.bytes[i]! - b.bytes[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Order prefixes: by family, then address, then length (shorter first). */
export function comparePrefixes(a: ParsedPrefix, b: ParsedPrefix): number {
  return compareAddresses(a, b) || a.length - b.length;
}

/** Text of the address of `family` at buf[off]: dotted quad, or RFC 5952 IPv6. */
export function formatAddress(buf: Uint8Array, off: number, family: AddressFamily): string {
  if (family === 4) return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
  return formatIpv6(buf, off);
}

/** `addr/len`. */
export function formatPrefix(prefix: ParsedPrefix): string {
  return `${formatAddress(prefix.bytes, 0, prefix.family)}/${prefix.length}`;
}

function parseIpv4(text: string, out: Uint8Array, off: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    // Decimal only, no leading zeros (`010` would be octal to some parsers).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return false;
    const v = Number(p);
    if (v > 255) return false;
    out[off + i] = v;
  }
  return true;
}

/** RFC 4291 section 2.2 text forms, including `::` and a trailing dotted IPv4. */
function parseIpv6(text: string, out: Uint8Array): boolean {
  const gap = text.indexOf('::');
  if (gap !== -1 && text.indexOf('::', gap + 1) !== -1) return false;
  const head = gap === -1 ? text : text.slice(0, gap);
  const tail = gap === -1 ? '' : text.slice(gap + 2);
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  if (gap === -1 && headGroups.length === 0) return false;

  const words: number[] = [];
  const all = [...headGroups, ...tailGroups];
  for (let i = 0; i < all.length; i++) {
    const g = all[i]!;
    if (g.includes('.')) {
      // A dotted IPv4 may only be the very last group, and `::` may not follow it.
      const endsText = i === all.length - 1 && (gap === -1 || tailGroups.length > 0);
      if (!endsText) return false;
      const v4 = new Uint8Array(4);
      if (!parseIpv4(g, v4, 0)) return false;
      words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      continue;
    }
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return false;
    words.push(parseInt(g, 16));
  }

  const headWords = gap === -1 ? words.length : countWords(headGroups);
  if (gap === -1 ? words.length !== 8 : words.length > 7) return false;
  const zeros = 8 - words.length;
  let w = 0;
  for (let i = 0; i < 8; i++) {
    let value = 0;
    if (i < headWords) value = words[w++]!;
    else if (i >= headWords + zeros) value = words[w++]!;
    out[i * 2] = value >> 8;
    out[i * 2 + 1] = value & 0xff;
  }
  return true;
}

function countWords(groups: string[]): number {
  let n = 0;
  for (const g of groups) n += g.includes('.') ? 2 : 1;
  return n;
}

function formatIpv6(buf: Uint8Array, off: number): string {
  // IPv4-mapped (::ffff:a.b.c.d) keeps the dotted tail, as RFC 5952 section 5 recommends.
  let mapped = buf[off + 10] === 0xff && buf[off + 11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) if (buf[off + i] !== 0) mapped = false;
  if (mapped) return `::ffff:${formatAddress(buf, off + 12, 4)}`;

  // Longest run of zero groups (>= 2), the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (word(buf, off, i) !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && word(buf, off, j) === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLen - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += word(buf, off, i).toString(16);
  }
  return text;
}

function word(buf: Uint8Array, off: number, i: number): number {
  return (buf[off + i * 2]! << 8) | buf[off + i * 2 + 1]!;
}
