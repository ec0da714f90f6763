/**
 * Application names of sessions (TLS SNI, HTTP Host, DNS, well-known ports ... decided by a classifier
 * plugin), interned to small ids so a session row holds a u16. Carried to the egress router in metadata
 * as TLV 35 (application name); interning happens per new name, never per packet.
 */
export class ApplicationNames {
  private readonly names: string[] = [''];
  private readonly bytes: Uint8Array[] = [new Uint8Array(0)];
  private readonly ids = new Map<string, number>();
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  /** Id of `name`, interning it (at most 65535 names; beyond that, 0 = unknown). */
  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      if (this.names.length >= 0xffff || name === '') return 0;
      id = this.names.length;
      this.names.push(name);
      this.bytes.push(this.encoder.encode(name));
      this.ids.set(name, id);
    }
    return id;
  }

  /** Id of the UTF-8 name at buf[off, off+len) (metadata TLV 35). */
  idFromBytes(buf: Uint8Array, off: number, len: number): number {
    return this.id(this.decoder.decode(buf.subarray(off, off + len)));
  }

  name(id: number): string {
    return this.names[id] ?? '';
  }

  /** Names interned so far (id 0, the unknown application, included). */
  get size(): number {
    return this.names.length;
  }

  /** The names of ids `from`, `from + 1`, ... (what a worker thread has not sent yet: workers/record-wire.ts). */
  namesFrom(from: number): string[] {
    return this.names.slice(from);
  }

  nameBytes(id: number): Uint8Array {
    return this.bytes[id] ?? this.bytes[0]!;
  }
}
