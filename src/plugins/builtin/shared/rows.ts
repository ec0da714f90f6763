/**
 * Per-session state as typed-array columns indexed by session row. The router's session table grows, so a
 * column grows too (doubling) the first time a row beyond its end is seen: in a session-open hook, never
 * per packet in steady state.
 */
type Column = Uint8Array | Uint16Array | Int16Array | Int32Array | Uint32Array | Float64Array;

/** `a` if it holds `row`, else a larger copy (new cells zero). */
export function withRow<T extends Column>(a: T, row: number): T {
  if (row < a.length) return a;
  let n = Math.max(a.length, 1024);
  while (n <= row) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a as ArrayLike<number> & T);
  return b;
}
