/**
 * Addresses learned from DNS answers -> the name asked for, in a bounded table: open addressing over a
 * power-of-two number of slots, at most 8 probes; an insert with no free, expired or matching slot in its
 * probe window replaces the entry that expires first. Entries live for the answer's TTL, at least 60 s
 * (applications connect after short TTLs expire), at most a day.
 */
const PROBES = 8;
const MIN_TTL_S = 60;
const MAX_TTL_S = 86_400;

export class DnsTable {
  private readonly mask: number;
  private readonly keys: Uint32Array;
  private readonly expires: Float64Array; // 0 = empty
  private readonly names: string[];

  /** milliseconds; the stage sets it from its batch time */
  now = 0;

  constructor(size: number) {
    let n = 16;
    while (n < size) n *= 2;
    this.mask = n - 1;
    this.keys = new Uint32Array(n);
    this.expires = new Float64Array(n);
    this.names = new Array<string>(n).fill('');
  }

  get slots(): number {
    return this.mask + 1;
  }

  learn(address: number, name: string, ttlSeconds: number): void {
    const now = this.now;
    const until = now + Math.min(Math.max(ttlSeconds, MIN_TTL_S), MAX_TTL_S) * 1000;
    let victim = -1;
    for (let k = 0, i = this.home(address); k < PROBES; k++, i = (i + 1) & this.mask) {
      if (this.expires[i]! !== 0 && this.keys[i] === address) {
        victim = i;
        break;
      }
      if (this.expires[i]! <= now) {
        if (victim < 0 || this.expires[victim]! > now) victim = i; // free or expired: take the first
      } else if (victim < 0 || (this.expires[victim]! > now && this.expires[i]! < this.expires[victim]!)) {
        victim = i;
      }
    }
    this.keys[victim] = address;
    this.expires[victim] = until;
    this.names[victim] = name;
  }

  /** The name learned for `address`, or '' (no allocation). */
  lookup(address: number, now: number): string {
    for (let k = 0, i = this.home(address); k < PROBES; k++, i = (i + 1) & this.mask) {
      if (this.keys[i] === address && this.expires[i]! > now) return this.names[i]!;
    }
    return '';
  }

  private home(a: number): number {
    return (Math.imul(a ^ (a >>> 16), 0x45d9f3b) >>> 7) & this.mask;
  }
}
