/** Application bytes for the appid tests, built by hand: a TLS 1.3 ClientHello with SNI, DNS messages. */

function u16(n: number): number[] {
  return [n >>> 8, n & 0xff];
}

/** A ClientHello record: supported_groups, then server_name (so the parser walks past an extension), then supported_versions. */
export function clientHello(sni: string): Uint8Array {
  const name = [...Buffer.from(sni, 'latin1')];
  const serverName = [0x00, ...u16(name.length), ...name];
  const exts = [
    ...u16(0x000a), ...u16(4), ...u16(2), ...u16(0x001d), // supported_groups: x25519
    ...u16(0x0000), ...u16(serverName.length + 2), ...u16(serverName.length), ...serverName,
    ...u16(0x002b), ...u16(3), 2, 0x03, 0x04, // supported_versions: TLS 1.3
  ];
  const body = [
    0x03, 0x03, ...new Array(32).fill(0x5a), // legacy_version, random
    32, ...new Array(32).fill(0x11), // legacy_session_id
    ...u16(6), 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, // cipher suites
    1, 0, // compression: null
    ...u16(exts.length), ...exts,
  ];
  const hs = [1, body.length >>> 16, (body.length >>> 8) & 0xff, body.length & 0xff, ...body];
  return Uint8Array.from([0x16, 0x03, 0x01, ...u16(hs.length), ...hs]);
}

function labels(name: string): number[] {
  return [...name.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]), 0];
}

export function dnsQuery(id: number, name: string): Uint8Array {
  return Uint8Array.from([...u16(id), 0x01, 0x00, ...u16(1), 0, 0, 0, 0, 0, 0, ...labels(name), ...u16(1), ...u16(1)]);
}

/**
 * A response for `name`: a CNAME to `alias` (owner compressed to the question), then A records for the
 * alias (owner compressed to the CNAME's data), the way resolvers answer for CDN names.
 */
export function dnsResponse(id: number, name: string, alias: string, addresses: string[], ttl = 300): Uint8Array {
  const question = [...labels(name), ...u16(1), ...u16(1)];
  const aliasLabels = labels(alias);
  const cnameAt = 12 + question.length;
  const cname = [0xc0, 12, ...u16(5), ...u16(1), 0, 0, 0, 60, ...u16(aliasLabels.length), ...aliasLabels];
  const aliasAt = cnameAt + 12; // the CNAME's data
  const a = addresses.flatMap((addr) => [0xc0 | (aliasAt >>> 8), aliasAt & 0xff, ...u16(1), ...u16(1), ttl >>> 24, (ttl >>> 16) & 0xff, (ttl >>> 8) & 0xff, ttl & 0xff, ...u16(4), ...addr.split('.').map(Number)]);
  return Uint8Array.from([...u16(id), 0x81, 0x80, ...u16(1), ...u16(1 + addresses.length), 0, 0, 0, 0, ...question, ...cname, ...a]);
}
