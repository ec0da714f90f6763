/**
 * The ports of one NAT address: a bitmap over [first, last] with a rotating cursor (a freed port is reused
 * once the cursor comes round, not at once), plus the ICMP echo identifiers bound on the address (ICMP
 * keeps its identifier, so two sessions may not share one on the same address).
 */
export class AddressPorts {
  private readonly bits: Int32Array;
  private readonly size: number;
  private cursor = 0;
  inUse = 0;
  private icmp: Int32Array | null = null;

  constructor(readonly first: number, last: number) {
    this.size = last - first + 1;
    this.bits = new Int32Array((this.size + 31) >>> 5);
  }

  get full(): boolean {
    return this.inUse >= this.size;
  }

  /** A free port (now taken), or -1 when every port is in use. */
  take(): number {
    if (this.full) return -1;
    const bits = this.bits;
    let i = this.cursor;
    for (let n = 0; n < this.size; ) {
      const w = i >>> 5;
      if ((i & 31) === 0 && bits[w] === -1 && i + 32 <= this.size) {
        n += 32; // a full word
        i = i + 32 === this.size ? 0 : i + 32;
        continue;
      }
      if ((bits[w]! & (1 << (i & 31))) === 0) {
        this.cursor = i + 1 === this.size ? 0 : i + 1;
        return this.mark(i);
      }
      n++;
      i = i + 1 === this.size ? 0 : i + 1;
    }
    return -1;
  }

  /** Whether `port` is in [first, last]. */
  covers(port: number): boolean {
    const i = port - this.first;
    return i >= 0 && i < this.size;
  }

  /** Takes `port` itself (a binding made elsewhere: a row from the HA partner); false when out of range or taken. */
  takePort(port: number): boolean {
    if (!this.covers(port)) return false;
    const i = port - this.first;
    if ((this.bits[i >>> 5]! & (1 << (i & 31))) !== 0) return false;
    this.mark(i);
    return true;
  }

  /** Port `first + i` (free) taken: the one place a bit is set. */
  private mark(i: number): number {
    this.bits[i >>> 5] = this.bits[i >>> 5]! | (1 << (i & 31));
    this.inUse++;
    return this.first + i;
  }

  release(port: number): void {
    if (!this.covers(port)) return;
    const i = port - this.first;
    const w = i >>> 5;
    const m = 1 << (i & 31);
    if ((this.bits[w]! & m) === 0) return;
    this.bits[w] = this.bits[w]! & ~m;
    this.inUse--;
  }

  /** Binds ICMP echo identifier `id` on this address; false when another session holds it. */
  takeIdentifier(id: number): boolean {
    const s = (this.icmp ??= new Int32Array(2048));
    const m = 1 << (id & 31);
    if ((s[id >>> 5]! & m) !== 0) return false;
    s[id >>> 5] = s[id >>> 5]! | m;
    return true;
  }

  releaseIdentifier(id: number): void {
    if (this.icmp !== null) this.icmp[id >>> 5] = this.icmp[id >>> 5]! & ~(1 << (id & 31));
  }
}
