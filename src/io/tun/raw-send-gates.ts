/**
 * One word per device on a SharedArrayBuffer that turns its raw sends off while non-zero (TunOptions.rawSendGate,
 * native/tun-write.c `raw_on`): the thread that decides (the node's main thread: the egress shaper) and the threads
 * whose writers send (main or data-path workers) hold the same memory, so no message is needed to switch.
 */
export class RawSendGates {
  readonly #words = new Map<string, Int32Array>();

  /** The gate of `device` (made open at its first use). */
  of(device: string): Int32Array {
    let w = this.#words.get(device);
    if (w === undefined) {
      w = new Int32Array(new SharedArrayBuffer(4));
      this.#words.set(device, w);
    }
    return w;
  }

  /** Raw sends off on `device`: every packet through its TUN. */
  close(device: string): void {
    Atomics.store(this.of(device), 0, 1);
  }

  /** Raw sends on again on `device` (where its writer has them). */
  open(device: string): void {
    Atomics.store(this.of(device), 0, 0);
  }
}
