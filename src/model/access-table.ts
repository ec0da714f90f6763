/**
 * Access-policy decisions for (tenant, service, source address), allocation-free.
 *
 * The rule (deny by default):
 * - A rule matches a packet when its tenant part (if any) names the packet's tenant or an ancestor
 *   of it (`engineering` covers `dev.engineering`, not the reverse), and its prefix part (if any)
 *   contains the source address. A packet with no tenant only matches prefix-only rules.
 * - No matching `allow` -> denied.
 * - An `allow` wins only over the matching `deny` rules it is strictly more specific than: its
 *   tenant is at least as deep (dotted segments; none = 0) AND its prefix at least as long (none
 *   counts as shorter than /0), and one of the two strictly. Otherwise the deny wins; so a deny
 *   wins over an allow that matches equally or less specifically, and over one that is more
 *   specific in one dimension but less in the other.
 * - Allowed when some matching allow wins over every matching deny.
 *
 * Most (tenant, service) pairs do not depend on the source: they are decided at build time
 * (`always`/`never`). Only pairs with prefix rules are decided per packet; every pair keeps its rules, so
 * `decision()` can name the rule that decided (for `svr explain`) with the same rule.
 */
import { bitsEqual, type AddressFamily, type ParsedPrefix } from '../packet/addr.js';
import { tenantAndAncestors, tenantDepth } from './names.js';

export interface AccessRuleSpec {
  readonly allow: boolean;
  readonly tenant?: string;
  readonly prefix?: ParsedPrefix;
}

export type Reach = 'always' | 'never' | 'by-source';

/** Which rules decided (indexes into the service's rules, -1 when none). */
export interface AccessDecision {
  allowed: boolean;
  /** allowed: the allow rule that won; denied: the last allow rule that matched and lost, or -1 when none matched */
  allow: number;
  /** denied with a matching allow: the deny rule that beat it */
  deny: number;
}

interface Trace {
  allow: number;
  deny: number;
}

const NEVER = 0;
const ALWAYS = 1;
const BY_SOURCE = 2;
const NO_PREFIX = -1;

/**
 * An AccessTable as typed arrays only: built once (AccessTable.build, e.g. in the config thread), handed to
 * another thread by transfer (docs/performance.md "Config at scale") and wrapped there without copying.
 */
export interface AccessTableParts {
  readonly services: number;
  readonly tenants: number;
  /** per (tenant + 1) * services + service: NEVER, ALWAYS or BY_SOURCE; row 0 is "no tenant" */
  readonly kind: Uint8Array;
  /** per cell: the rules that apply, setRules[setStart, setStart + setCount) */
  readonly setStart: Int32Array;
  readonly setCount: Int32Array;
  readonly setRules: Int32Array;
  /** index of each service's first rule in the flattened rules */
  readonly firstRule: Int32Array;
  /** the rules, flattened: allow 1/0, tenant depth, prefix length (-1: none), family, 16 prefix bytes each */
  readonly allow: Uint8Array;
  readonly depth: Int32Array;
  readonly length: Int32Array;
  readonly family: Uint8Array;
  readonly bytes: Uint8Array;
}

export class AccessTable {
  readonly #services: number;
  readonly #tenants: number;
  readonly #kind: Uint8Array;
  readonly #setStart: Int32Array;
  readonly #setCount: Int32Array;
  readonly #setRules: Int32Array;
  readonly #firstRule: Int32Array;
  readonly #allow: Uint8Array;
  readonly #depth: Int32Array;
  readonly #length: Int32Array;
  readonly #family: Uint8Array;
  readonly #bytes: Uint8Array;
  readonly parts: AccessTableParts;

  /** Wraps built parts (no copy). */
  constructor(parts: AccessTableParts) {
    this.parts = parts;
    this.#services = parts.services;
    this.#tenants = parts.tenants;
    this.#kind = parts.kind;
    this.#setStart = parts.setStart;
    this.#setCount = parts.setCount;
    this.#setRules = parts.setRules;
    this.#firstRule = parts.firstRule;
    this.#allow = parts.allow;
    this.#depth = parts.depth;
    this.#length = parts.length;
    this.#family = parts.family;
    this.#bytes = parts.bytes;
  }

  /** `rules[s]` are the access rules of service s, in config order. */
  static build(tenantNames: readonly string[], rules: ReadonlyArray<readonly AccessRuleSpec[]>): AccessTable {
    const services = rules.length;
    const flat = rules.flat();
    const n = flat.length;
    const cells = (tenantNames.length + 1) * services;
    const p = {
      services, tenants: tenantNames.length,
      kind: new Uint8Array(cells), setStart: new Int32Array(cells), setCount: new Int32Array(cells), setRules: new Int32Array(0),
      firstRule: new Int32Array(services),
      allow: new Uint8Array(n), depth: new Int32Array(n), length: new Int32Array(n), family: new Uint8Array(n), bytes: new Uint8Array(n * 16),
    };
    flat.forEach((rule, i) => {
      p.allow[i] = rule.allow ? 1 : 0;
      p.depth[i] = rule.tenant === undefined ? 0 : tenantDepth(rule.tenant);
      p.length[i] = rule.prefix === undefined ? NO_PREFIX : rule.prefix.length;
      p.family[i] = rule.prefix?.family ?? 0;
      if (rule.prefix !== undefined) p.bytes.set(rule.prefix.bytes, i * 16);
    });
    for (let s = 1; s < services; s++) p.firstRule[s] = p.firstRule[s - 1]! + rules[s - 1]!.length;
    const deciding = new AccessTable(p); // its rules decide the cells that do not depend on the source
    const setRules: number[] = [];
    const relevant: number[] = [];
    const rows = tenantNames.length + 1;
    // row r is tenant r - 1 (row 0: no tenant); a rule's tenant applies to a row when it is the row's tenant or one
    // of its ancestors (isTenantWithin: `engineering` covers `dev.engineering`)
    const within = Array.from({ length: rows }, (_, r) => (r === 0 ? new Set<string>() : tenantAndAncestors(tenantNames[r - 1]!)));
    // and so the rows of a rule's tenant: itself and its descendants. Only those cells are visited: a big config's
    // (tenants + 1) × services cells are mostly "no rule applies" (count 0, never), which the arrays start as
    const rowsOf = new Map<string, number[]>();
    for (let r = 1; r < rows; r++) {
      for (const name of within[r]!) {
        const list = rowsOf.get(name);
        if (list === undefined) rowsOf.set(name, [r]);
        else list.push(r);
      }
    }
    const seen = new Uint8Array(rows);
    const touched: number[] = [];
    for (let s = 0; s < services; s++) {
      const list = rules[s]!;
      const first = p.firstRule[s]!;
      touched.length = 0;
      if (list.some((rule) => rule.tenant === undefined)) for (let r = 0; r < rows; r++) touched.push(r);
      else {
        for (const rule of list) {
          for (const r of rowsOf.get(rule.tenant!) ?? []) {
            if (seen[r] === 1) continue;
            seen[r] = 1;
            touched.push(r);
          }
        }
        for (const r of touched) seen[r] = 0;
      }
      for (const row of touched) {
        relevant.length = 0;
        const w = within[row]!;
        for (let j = 0; j < list.length; j++) {
          const ruleTenant = list[j]!.tenant;
          if (ruleTenant === undefined || w.has(ruleTenant)) relevant.push(first + j);
        }
        const cell = row * services + s;
        p.setStart[cell] = setRules.length;
        p.setCount[cell] = relevant.length;
        for (const i of relevant) setRules.push(i);
        if (!relevant.some((i) => p.allow[i] === 1)) continue; // NEVER
        if (relevant.every((i) => p.length[i] === NO_PREFIX)) {
          p.kind[cell] = deciding.#decide(Int32Array.from(relevant), 0, relevant.length, undefined, 0, 4) ? ALWAYS : NEVER;
          continue;
        }
        p.kind[cell] = BY_SOURCE;
      }
    }
    return new AccessTable({ ...p, setRules: Int32Array.from(setRules) });
  }

  /** May `tenant` (or NO_TENANT = -1) reach `service` from the source address at buf[srcOff]? Allocation-free. */
  allows(tenant: number, service: number, buf: Uint8Array, srcOff: number, family: AddressFamily): boolean {
    if (tenant < -1 || tenant >= this.#tenants || service < 0 || service >= this.#services) return false;
    const cell = (tenant + 1) * this.#services + service;
    const kind = this.#kind[cell]!;
    if (kind !== BY_SOURCE) return kind === ALWAYS;
    return this.#decide(this.#setRules, this.#setStart[cell]!, this.#setCount[cell]!, buf, srcOff, family);
  }

  /**
   * The decision of `allows` for this packet source, with the rules that made it (the same rule, over the
   * (tenant, service) pair's rules; for `svr explain`, not per packet: it allocates its answer).
   */
  decision(tenant: number, service: number, buf: Uint8Array, srcOff: number, family: AddressFamily): AccessDecision {
    const trace: Trace = { allow: -1, deny: -1 };
    if (tenant < -1 || tenant >= this.#tenants || service < 0 || service >= this.#services) return { allowed: false, ...trace };
    const cell = (tenant + 1) * this.#services + service;
    const allowed = this.#decide(this.#setRules, this.#setStart[cell]!, this.#setCount[cell]!, buf, srcOff, family, trace);
    const first = this.#firstRule[service]!;
    return { allowed, allow: trace.allow < 0 ? -1 : trace.allow - first, deny: trace.deny < 0 ? -1 : trace.deny - first };
  }

  /** Whether the decision for (tenant, service) is fixed or depends on the source (for inspection and tests). */
  reach(tenant: number, service: number): Reach {
    if (tenant < -1 || tenant >= this.#tenants || service < 0 || service >= this.#services) return 'never';
    const kind = this.#kind[(tenant + 1) * this.#services + service]!;
    return kind === ALWAYS ? 'always' : kind === NEVER ? 'never' : 'by-source';
  }

  /**
   * The rule above over rules set[start, start+count); buf undefined = every prefix matches. `trace`
   * (explain only) gets the winning allow, or the last matching allow and the deny that beat it.
   */
  #decide(set: Int32Array, start: number, count: number, buf: Uint8Array | undefined, srcOff: number, family: AddressFamily, trace?: Trace): boolean {
    const end = start + count;
    for (let a = start; a < end; a++) {
      const allow = set[a]!;
      if (this.#allow[allow] !== 1 || !this.#matches(allow, buf, srcOff, family)) continue;
      let wins = true;
      for (let d = start; d < end && wins; d++) {
        const deny = set[d]!;
        if (this.#allow[deny] === 1 || !this.#matches(deny, buf, srcOff, family)) continue;
        wins = this.#moreSpecific(allow, deny);
        if (!wins && trace !== undefined) trace.deny = deny;
      }
      if (trace !== undefined) trace.allow = allow;
      if (wins) return true;
    }
    return false;
  }

  #matches(rule: number, buf: Uint8Array | undefined, srcOff: number, family: AddressFamily): boolean {
    const length = this.#length[rule]!;
    if (length === NO_PREFIX || buf === undefined) return true;
    return this.#family[rule] === family && bitsEqual(this.#bytes, rule * 16, buf, srcOff, length);
  }

  #moreSpecific(a: number, b: number): boolean {
    const da = this.#depth[a]!;
    const db = this.#depth[b]!;
    const la = this.#length[a]!;
    const lb = this.#length[b]!;
    return da >= db && la >= lb && (da > db || la > lb);
  }
}
