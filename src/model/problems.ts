/**
 * Collecting validation problems: each has the path of the bad field (as segments, printed as
 * `authority.services[2].transport[0].ports[1]`) and a message saying what was expected and what
 * was found. Validation never stops at the first problem.
 */

export type PathSegment = string | number;
export type FieldPath = readonly PathSegment[];

export type { ConfigProblem } from '../errors.js';

export interface RawProblem {
  segments: FieldPath;
  message: string;
  /** Locate the key of the last segment rather than its value (for unknown keys). */
  atKey: boolean;
}

export class Problems {
  readonly list: RawProblem[] = [];

  add(segments: FieldPath, message: string, atKey = false): void {
    this.list.push({ segments, message, atKey });
  }

  /** `expected <what>, got <value>` */
  expected(segments: FieldPath, what: string, got: unknown, hint = ''): void {
    this.add(segments, `expected ${what}, got ${describe(got)}${hint}`);
  }

  missing(segments: FieldPath, what: string): void {
    this.add(segments, `required field is missing; expected ${what}`);
  }
}

/** `authority.services[2].transport[0]` */
export function formatPath(segments: FieldPath): string {
  if (segments.length === 0) return '(top level)';
  let text = '';
  for (const s of segments) {
    if (typeof s === 'number') text += `[${s}]`;
    else text += text === '' ? s : `.${s}`;
  }
  return text;
}

/** A short description of a found value: `"80-70"`, `42`, `a list`, `an object`, `nothing`. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return typeof value;
}

/** The closest candidate to a misspelt word (edit distance <= 2, or the kebab-case form), if any. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const kebab = word.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/_/g, '-');
  if (kebab !== word && candidates.includes(kebab)) return kebab;
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(word.length / 2));
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d <= bestDistance && (best === undefined || d < bestDistance)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
