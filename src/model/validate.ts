/**
 * Config files in, validated `SvrConfig` out.
 *
 * 1. Parse YAML or JSON without positions (plain-yaml.ts; ~10x faster), then 2-3; a valid config ends there.
 * 2. Read the shape (read-authority.ts): types, formats, unknown keys, defaults.
 * 3. Check cross-references (check-references.ts).
 * 4. Text the fast parse does not read, or any problem: parse again with positions (the `yaml` package; JSON
 *    syntax errors get JSON's own line/column) -> SVR_ERR_CONFIG_PARSE, and 2-3 again ->
 *    one ConfigError SVR_ERR_CONFIG_INVALID listing every problem with its field path and line.
 * A config object (ConfigInput, written in code) takes steps 2-4 through its document form
 * (config-object.ts): paths and messages in camelCase, no line numbers.
 *
 * @example
 *   const config = await loadConfig('examples/configs/two-routers.yaml');
 *   const tables = compileRouter(config, 'r1', 1);
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, isAlias, isMap, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { ConfigError } from '../errors.js';
import type { SvrConfig } from './config.js';
import type { ConfigInput } from './config-input.js';
import { inputToDocument, objectMessage, objectSegments } from './config-object.js';
import { checkReferences } from './check-references.js';
import { FieldReader, type Origins } from './fields.js';
import { Problems, formatPath, type ConfigProblem, type RawProblem } from './problems.js';
import { readConfig } from './read-authority.js';
import { readPlainYaml } from './plain-yaml.js';

export type { ConfigProblem } from './problems.js';

export interface ParseOptions {
  /** Read the text as if it had no adjacencies marked `generated: true` (a conductor regenerates them); lines stay those of the text. */
  withoutGenerated?: boolean;
  /**
   * The text is JSON a program wrote (a conductor's router slice): parsed with JSON.parse alone, problems
   * carry field paths but no lines (a YAML parse for line numbers costs ~4x more, ~3 ms for a small slice).
   */
  machineJson?: boolean;
}

/** Reads and checks a document (parsed YAML/JSON, or a config object's document form): the config or every problem. */
function readDocument(data: unknown, report: (p: RawProblem) => ConfigProblem): { config: SvrConfig | undefined; problems: ConfigProblem[] } {
  const problems = new Problems();
  const origins: Origins = new WeakMap();
  const config = readConfig(data, { r: new FieldReader(problems), origins });
  if (config !== undefined) checkReferences(config.authority, origins, problems);
  return { config: problems.list.length === 0 ? config : undefined, problems: problems.list.map(report) };
}

/** Parse and validate config text. `source` names the file in messages. Throws ConfigError. */
export function parseConfig(text: string, source = '<config>', options: ParseOptions = {}): SvrConfig {
  const plain = options.machineJson === true || (source.endsWith('.json') && !isJson(text)) ? undefined : readPlainYaml(text);
  if (plain !== undefined) {
    if (options.withoutGenerated === true) dropGeneratedAdjacencies(plain);
    const { config } = readDocument(plain, () => ({ path: '', message: '' })); // problems: read again below, with lines
    if (config !== undefined) return config;
  }
  const { data, doc, lines } = options.machineJson === true ? parseMachineJson(text, source) : parseText(text, source);
  if (options.withoutGenerated === true) dropGeneratedAdjacencies(data);
  const { config, problems } = readDocument(data, (p) => locate(p, doc, lines));
  if (config === undefined) throw invalid(source, problems);
  return config;
}

/** Read a YAML or JSON file and validate it. Throws ConfigError (CONFIG_READ, CONFIG_PARSE, CONFIG_INVALID). */
export async function loadConfig(path: string): Promise<SvrConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new ConfigError('SVR_ERR_CONFIG_READ', `cannot read configuration ${path}: ${reason}`, { source: path, problems: [] });
  }
  return parseConfig(text, path);
}

const objectProblem = (p: RawProblem): ConfigProblem => ({ path: formatPath(objectSegments(p.segments)), message: objectMessage(p.message) });

/**
 * Validates a config object (written in code, or changed after loading) exactly as a file would be (same
 * rules) and fills the defaults. Throws ConfigError SVR_ERR_CONFIG_INVALID whose problems name camelCase
 * object paths (`authority.services[2].accessPolicy[0].source`).
 */
export function resolveConfig(input: ConfigInput, source = '<config object>'): SvrConfig {
  const { config, problems } = readDocument(inputToDocument(input), objectProblem);
  if (config === undefined) throw invalid(source, problems);
  return config;
}

/** Every problem of a config object, with camelCase object paths; [] when it is valid. */
export function validateConfig(input: ConfigInput): ConfigProblem[] {
  return readDocument(inputToDocument(input), objectProblem).problems;
}

/** A router pair's sync key replaced by `<redacted>`. */
function redactRedundancy<R extends { redundancy?: { sharedKey: string } }>(r: R): R {
  return r.redundancy === undefined ? r : { ...r, redundancy: { ...r.redundancy, sharedKey: '<redacted>' } };
}

/** A copy of the config with `authority.secret`, every policy `key`, every management `token` and a router pair's `shared-key` replaced by `<redacted>`, for display. */
export function redactSecrets<C extends ConfigInput>(config: C): C {
  const a = config.authority;
  const authority = {
    ...a,
    ...(a.securityPolicies !== undefined ? { securityPolicies: a.securityPolicies.map((p) => (p.key === undefined ? { ...p } : { ...p, key: '<redacted>' })) } : {}),
    routers: a.routers.map((r) => redactRedundancy(r.management?.tokens === undefined ? r : {
      ...r, management: { ...r.management, tokens: r.management.tokens.map((t) => (t.token === undefined ? { ...t } : { ...t, token: '<redacted>' })) },
    })),
  };
  if (a.secret !== undefined) authority.secret = '<redacted>';
  return { ...config, authority };
}

/** Removes `generated: true` adjacencies from parsed data, where the shape is as expected (validation reports the rest). */
function dropGeneratedAdjacencies(data: unknown): void {
  const list = (o: unknown, key: string): unknown[] => {
    const v = o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined;
    return Array.isArray(v) ? v : [];
  };
  for (const router of list((data as Record<string, unknown> | null)?.['authority'], 'routers')) {
    for (const iface of list(router, 'interfaces')) {
      const adjacencies = list(iface, 'adjacencies');
      if (adjacencies.length === 0) continue;
      const kept = adjacencies.filter((a) => !(a !== null && typeof a === 'object' && (a as Record<string, unknown>)['generated'] === true));
      if (kept.length === 0) delete (iface as Record<string, unknown>)['adjacencies'];
      else (iface as Record<string, unknown>)['adjacencies'] = kept;
    }
  }
}

interface ParsedText {
  data: unknown;
  doc: Document | undefined;
  lines: LineCounter;
}

function parseText(text: string, source: string): ParsedText {
  const lines = new LineCounter();
  const looksJson = source.endsWith('.json') || /^\s*[{[]/.test(text);
  let jsonError: ConfigError | undefined;
  if (looksJson) {
    try {
      JSON.parse(text);
    } catch (e) {
      jsonError = jsonSyntaxError(text, source, e);
      if (source.endsWith('.json')) throw jsonError;
    }
  }
  // JSON is YAML too; parsing it as YAML as well keeps line numbers and catches duplicate keys.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    if (jsonError !== undefined) throw jsonError;
    const list = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      // prettyErrors appends " at line L, column C:" and a source excerpt; we print our own position.
      const message = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
      return { line: pos?.line, column: pos?.col, message };
    });
    const text = list.map((p) => `  ${source}:${p.line ?? '?'}:${p.column ?? '?'}: ${p.message}`).join('\n');
    const problems = list.map((p): ConfigProblem => ({ path: '(syntax)', message: p.message, ...(p.line !== undefined ? { line: p.line, column: p.column ?? 1 } : {}) }));
    throw new ConfigError('SVR_ERR_CONFIG_PARSE', `${source} is not valid YAML:\n${text}`, { source, problems });
  }
  return { data: doc.toJS({ maxAliasCount: 1000 }), doc, lines };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function parseMachineJson(text: string, source: string): ParsedText {
  try {
    return { data: JSON.parse(text) as unknown, doc: undefined, lines: new LineCounter() };
  } catch (e) {
    throw jsonSyntaxError(text, source, e);
  }
}

function jsonSyntaxError(text: string, source: string, e: unknown): ConfigError {
  const message = e instanceof Error ? e.message : String(e);
  const m = /at position (\d+)/.exec(message);
  const offset = m === null ? text.length : Number(m[1]);
  const { line, column } = lineColumn(text, offset);
  const reason = message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '');
  return new ConfigError('SVR_ERR_CONFIG_PARSE', `${source}:${line}:${column}: invalid JSON: ${reason}`, { source, problems: [{ path: '(syntax)', message: `invalid JSON: ${reason}`, line, column }] });
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** Attach the line/column of the deepest node on `segments` that exists in the document. */
function locate({ segments, message, atKey }: RawProblem, doc: Document | undefined, lines: LineCounter): ConfigProblem {
  const problem: ConfigProblem = { path: formatPath(segments), message };
  if (doc === undefined) return problem;
  let node: unknown = doc.contents;
  let offset = (node as YamlNode | null)?.range?.[0];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown } | null)?.value) === String(segment));
      const keyStart = (pair?.key as YamlNode | undefined)?.range?.[0];
      if (keyStart !== undefined) offset = keyStart;
      next = pair?.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    if (next === undefined || next === null || (atKey && i === segments.length - 1)) break;
    node = next;
    // A list item or a scalar value points at itself; a nested mapping keeps its key's position.
    const start = (node as YamlNode).range?.[0];
    if (start !== undefined && (typeof segment === 'number' || !(isMap(node) || isSeq(node)))) offset = start;
  }
  if (offset === undefined) return problem;
  const pos = lines.linePos(offset);
  problem.line = pos.line;
  problem.column = pos.col;
  return problem;
}

function invalid(source: string, errors: ConfigProblem[]): ConfigError {
  const sorted = [...errors].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  const n = sorted.length;
  const lines = sorted.map((e) => `  ${e.path}: ${e.message}${e.line !== undefined ? ` (line ${e.line}, column ${e.column})` : ''}`);
  const head = `${source}: invalid configuration (${n} problem${n === 1 ? '' : 's'}):`;
  return new ConfigError('SVR_ERR_CONFIG_INVALID', n === 0 ? `${head}\n  (no details)` : `${head}\n${lines.join('\n')}`, { source, problems: sorted });
}
