/**
 * Reading untyped parsed YAML/JSON field by field. Each reader records a problem (with the field
 * path) when the value is missing or malformed and returns a fallback, so validation goes on and
 * reports every problem in one pass.
 */
import { didYouMean, type FieldPath, type Problems } from './problems.js';

export type Raw = Record<string, unknown>;

export class FieldReader {
  constructor(readonly problems: Problems) {}

  /** A mapping with only `keys`; unknown keys are problems (with a did-you-mean). */
  object(value: unknown, path: FieldPath, what: string, keys: readonly string[]): Raw | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.problems.expected(path, what, value);
      return undefined;
    }
    const raw = value as Raw;
    for (const key of Object.keys(raw)) {
      if (keys.includes(key)) continue;
      const guess = didYouMean(key, keys);
      const hint = guess !== undefined ? `did you mean \`${guess}\`?` : `expected one of: ${keys.join(', ')}`;
      this.problems.add([...path, key], `unknown field \`${key}\`; ${hint}`, true);
    }
    return raw;
  }

  /** The elements of a list field with their paths; [] when absent and not required. */
  list(obj: Raw, key: string, path: FieldPath, what: string, required = false): Array<[unknown, FieldPath]> {
    const value = obj[key];
    const at = [...path, key];
    if (value === undefined || value === null) {
      if (required) this.problems.missing(at, what);
      return [];
    }
    if (!Array.isArray(value)) {
      this.problems.expected(at, what, value);
      return [];
    }
    return value.map((item, i) => [item, [...at, i]]);
  }

  /**
   * A string field. A string that fails `valid` is reported but still returned, so later
   * cross-reference checks do not report the same mistake again as a dangling reference.
   */
  string(obj: Raw, key: string, path: FieldPath, what: string, valid?: (s: string) => boolean, required = true): string | undefined {
    const value = obj[key];
    const at = [...path, key];
    if (value === undefined || value === null) {
      if (required) this.problems.missing(at, what);
      return undefined;
    }
    if (typeof value !== 'string') {
      const hint = typeof value === 'number' ? ' (write it in quotes)' : '';
      this.problems.expected(at, what, value, hint);
      return undefined;
    }
    if (valid !== undefined && !valid(value)) this.problems.expected(at, what, value);
    return value;
  }

  optionalString(obj: Raw, key: string, path: FieldPath, what: string, valid?: (s: string) => boolean): string | undefined {
    return this.string(obj, key, path, what, valid, false);
  }

  /** One of `values`; `fallback` when absent or wrong (undefined fallback = required). */
  oneOf<T extends string>(obj: Raw, key: string, path: FieldPath, values: readonly T[], fallback: T): T;
  oneOf<T extends string>(obj: Raw, key: string, path: FieldPath, values: readonly T[], fallback: undefined): T | undefined;
  oneOf<T extends string>(obj: Raw, key: string, path: FieldPath, values: readonly T[], fallback: T | undefined): T | undefined {
    const value = obj[key];
    const at = [...path, key];
    const what = `one of ${values.map((v) => `"${v}"`).join(', ')}`;
    if (value === undefined || value === null) {
      if (fallback === undefined) this.problems.missing(at, what);
      return fallback;
    }
    if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value as T;
    const guess = typeof value === 'string' ? didYouMean(value, values) : undefined;
    this.problems.expected(at, what, value, guess !== undefined ? `; did you mean "${guess}"?` : '');
    return fallback;
  }

  /** A whole number in [min, max]; `fallback` when absent. */
  integer(obj: Raw, key: string, path: FieldPath, min: number, max: number, fallback: number, unit = ''): number {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
    this.problems.expected([...path, key], `a whole number ${min}-${max}${unit}`, value);
    return fallback;
  }

  /** true or false; `fallback` when absent. */
  boolean(obj: Raw, key: string, path: FieldPath, fallback: boolean): boolean {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'boolean') return value;
    this.problems.expected([...path, key], 'true or false', value);
    return fallback;
  }
}

/** Where each validated object came from, so cross-reference checks can name the field path. */
export type Origins = WeakMap<object, FieldPath>;

export interface ReadContext {
  readonly r: FieldReader;
  readonly origins: Origins;
}

/** Read every element of a list field with `read`, dropping elements that could not be read at all. */
export function readList<T extends object>(
  ctx: ReadContext,
  obj: Raw,
  key: string,
  path: FieldPath,
  what: string,
  read: (value: unknown, path: FieldPath) => T | undefined,
  required = false,
): T[] {
  const out: T[] = [];
  for (const [value, at] of ctx.r.list(obj, key, path, what, required)) {
    const item = read(value, at);
    if (item === undefined) continue;
    ctx.origins.set(item, at);
    out.push(item);
  }
  return out;
}
