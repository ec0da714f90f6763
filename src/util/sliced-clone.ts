/**
 * Plain data (a validated config) passed between threads so that the receiving thread rebuilds it in slices
 * between other work: a structured clone of 10,000 services takes one uninterrupted ~150 ms on the thread that
 * receives it (docs/performance.md "Config at scale"). The sender serializes the value with its long arrays
 * emptied (the head) and those arrays' items in slices of `maxItems` (v8.serialize, in ArrayBuffers to
 * transfer, or in SharedArrayBuffers that any number of threads read without a copy: the config thread's answer,
 * passed on by the node to each data-path worker); the receiver deserializes the head, then one slice per `pause()`.
 *
 *   sender: sliceValue(value) -> { sliced, transfer } -> postMessage(sliced, transfer)
 *   receiver: await unsliceValue(sliced, pause) -> value (a deep copy of it)
 */
import { deserialize, serialize } from 'node:v8';

export interface SlicedValue {
  /** the value, each array longer than maxItems left empty (outermost ones only) */
  readonly head: ArrayBufferLike;
  /** those arrays: where they are (keys from the value down) and their items in slices */
  readonly arrays: readonly { readonly path: readonly (string | number)[]; readonly slices: readonly ArrayBufferLike[] }[];
}

/**
 * `value` copied with its long arrays in slices (the value itself is not changed), and the buffers to transfer;
 * `shared`: in SharedArrayBuffers instead (nothing to transfer: every thread it is posted to reads the same bytes).
 */
export function sliceValue(value: unknown, maxItems = 100, shared = false): { sliced: SlicedValue; transfer: ArrayBuffer[] } {
  const arrays: { path: (string | number)[]; slices: ArrayBufferLike[] }[] = [];
  const transfer: ArrayBuffer[] = [];
  const own = (data: Buffer): ArrayBufferLike => {
    const copy = new Uint8Array(shared ? new SharedArrayBuffer(data.length) : new ArrayBuffer(data.length));
    copy.set(data);
    if (!shared) transfer.push(copy.buffer as ArrayBuffer);
    return copy.buffer;
  };
  const walk = (node: unknown, path: (string | number)[]): unknown => {
    if (Array.isArray(node)) {
      if (node.length <= maxItems) return node.map((item, i) => walk(item, [...path, i]));
      const slices: ArrayBufferLike[] = [];
      for (let i = 0; i < node.length; i += maxItems) slices.push(own(serialize(node.slice(i, i + maxItems))));
      arrays.push({ path, slices });
      return [];
    }
    if (!isPlainObject(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = walk(v, [...path, k]);
    return out;
  };
  const head = own(serialize(walk(value, [])));
  return { sliced: { head, arrays }, transfer };
}

/** The value of sliceValue, rebuilt one slice per `pause()` (e.g. a setImmediate: other work runs between). */
export async function unsliceValue(sliced: SlicedValue, pause: () => Promise<void>): Promise<unknown> {
  const value = deserialize(new Uint8Array(sliced.head)) as unknown;
  for (const { path, slices } of sliced.arrays) {
    let target: unknown = value;
    for (const key of path) target = (target as Record<string | number, unknown>)[key];
    if (!Array.isArray(target)) throw new TypeError(`sliced value: no array at ${path.join('.')}`);
    for (const slice of slices) {
      await pause();
      for (const item of deserialize(new Uint8Array(slice)) as unknown[]) target.push(item);
    }
  }
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
