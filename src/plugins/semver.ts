/** Just enough semver to check a plugin's `api` range against PLUGIN_API_VERSION: ^, ~, >=, x, *, exact. */
type V = [number, number, number];

function parse(v: string): V | undefined {
  const m = /^(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(v.trim());
  if (!m) return undefined;
  const n = (s: string | undefined) => (s === undefined || s === 'x' || s === '*' ? -1 : Number(s));
  return [Number(m[1]), n(m[2]), n(m[3])];
}

const cmp = (a: V, b: V): number => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** True when `version` (x.y.z) satisfies `range`; false for ranges this check cannot read. */
export function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  if (v === undefined) return false;
  const r = range.trim();
  if (r === '*' || r === '') return true;
  const op = /^(\^|~|>=)?(.*)$/.exec(r)!;
  const want = parse(op[2]!);
  if (want === undefined) return false;
  const w: V = [want[0], Math.max(want[1], 0), Math.max(want[2], 0)];
  switch (op[1]) {
    case '^': return v[0] === w[0] && cmp(v, w) >= 0;
    case '~': return v[0] === w[0] && (want[1] < 0 || v[1] === w[1]) && cmp(v, w) >= 0;
    case '>=': return cmp(v, w) >= 0;
    default: return v[0] === want[0] && (want[1] < 0 || v[1] === want[1]) && (want[2] < 0 || v[2] === want[2]);
  }
}
