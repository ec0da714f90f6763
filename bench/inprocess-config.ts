/** What the in-process benches (bench/dataplane.ts, bench/workers.ts) share: their config and a port. */
import type { PacketPort } from '../src/dataplane/port.js';

/**
 * The two-router config of the in-process benches: one UDP and TCP service
 * from r1 to r2. HMAC mode 'regular' (every packet signed, no time slot). `encrypt`: payload encryption
 * on the service. `handshake`: the routers' public keys, and the path policy `key-exchange: handshake` (its keys
 * then come from a handshake, installed by the bench).
 */
export function inProcessConfig(encrypt: boolean, handshake?: { r1: string; r2: string }): string {
  const identity = (publicKey: string | undefined) => (publicKey === undefined ? '' : `\n      identity: { public-key: ${publicKey} }`);
  return `
authority:
  name: bench
  secret: 5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f
  security-policies:
    - { name: internal, hmac-mode: regular${handshake === undefined ? '' : ', key-exchange: handshake'} }
    - { name: sealed, encrypt: ${encrypt}, hmac-mode: regular }
  tenants: [{ name: t, members: [198.18.1.0/24] }]
  services:
    - { name: s, addresses: [198.18.3.0/24], transport: [{ protocol: udp }, { protocol: tcp }], access-policy: [{ source: t }], security: sealed }
  routers:
    - name: r1${identity(handshake?.r1)}
      interfaces: [{ name: lan0, kind: lan }, { name: wan0, kind: wan, waypoint: 198.18.12.1, neighborhoods: [{ name: n }] }]
      service-routes: [{ name: s, service: s, peer: r2 }]
    - name: r2${identity(handshake?.r2)}
      interfaces: [{ name: lan0, kind: lan }, { name: wan0, kind: wan, waypoint: 198.18.12.2, neighborhoods: [{ name: n }] }]
      service-routes: [{ name: s, service: s, next-hop: { interface: lan0 } }]
`;
}

/** Counts what is transmitted; `keep` copies the last batch, packed (to feed r2), into a buffer it reuses. */
export class Sink implements PacketPort {
  readonly name = 'sink';
  packets = 0;
  data = new Uint8Array(0);
  off = new Uint32Array(0);
  len = new Uint32Array(0);
  count = 0;
  constructor(public keep = false) {}
  start(): void {}
  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    this.packets += count;
    if (!this.keep) return;
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += lengths[i]!;
    if (this.data.length < bytes) this.data = new Uint8Array(bytes * 2);
    if (this.off.length < count) { this.off = new Uint32Array(count); this.len = new Uint32Array(count); }
    for (let i = 0, at = 0; i < count; i++) {
      const o = offsets[i]!, n = lengths[i]!;
      this.data.set(data.subarray(o, o + n), at);
      this.off[i] = at;
      this.len[i] = n;
      at += n;
    }
    this.count = count;
  }
  close(): void {}
}
