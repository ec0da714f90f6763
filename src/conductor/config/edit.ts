/**
 * Editing the candidate text in place (comments and layout kept, yaml's Document API) by a field path:
 *
 *   authority.services[web].addresses        a list element by its `name`, then a field
 *   routers[r1].interfaces[wan0].neighborhoods[0].topology   by index; `authority.` may be left out
 *
 * `set` with a name that no element has appends `{ name, ... }` (so `set services[db] '{addresses: [...]}'`
 * adds a service); values are YAML (`80`, `[198.18.3.0/24]`, `{ type: router, routers: [r1] }`).
 */
import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { SvrError } from '../../errors.js';

type Step = { key: string } | { index: number } | { name: string };

/** `a.b[x][0].c` -> steps; throws SVR_ERR_CONDUCTOR_PATH for malformed text. */
export function parsePath(text: string): Step[] {
  const steps: Step[] = [];
  const re = /([A-Za-z0-9_-]+)|\[([^\]]*)\]|(\.)/gy;
  let m: RegExpExecArray | null;
  let expectKey = true;
  let last = 0;
  while ((m = re.exec(text)) !== null) {
    last = re.lastIndex;
    if (m[1] !== undefined) {
      if (!expectKey) throw badPath(text, `put a "." before "${m[1]}"`);
      steps.push({ key: m[1] });
      expectKey = false;
    } else if (m[2] !== undefined) {
      if (steps.length === 0) throw badPath(text, 'a path starts with a field name');
      const sel = m[2].trim();
      if (sel === '') throw badPath(text, 'empty [] selector; give an index or a name');
      steps.push(/^\d+$/.test(sel) ? { index: Number(sel) } : { name: sel });
    } else {
      if (expectKey) throw badPath(text, 'unexpected "."');
      expectKey = true;
    }
  }
  if (last !== text.length || steps.length === 0 || expectKey) throw badPath(text, 'expected fields separated by "." with [index] or [name] selectors, e.g. authority.services[web].addresses');
  if (!('key' in steps[0]!) || steps[0].key !== 'authority') steps.unshift({ key: 'authority' });
  return steps;
}

function badPath(text: string, why: string): SvrError {
  return new SvrError('SVR_ERR_CONDUCTOR_PATH', `config path "${text}": ${why}`, { path: text });
}

export function parseCandidate(text: string): Document {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new SvrError('SVR_ERR_CONFIG_PARSE', `the candidate is not valid YAML at line ${pos?.line ?? '?'}, column ${pos?.col ?? '?'}: ${e.message.split('\n')[0]}`);
  }
  return doc;
}

/** A YAML value from the command line. */
export function parseValue(text: string): unknown {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new SvrError('SVR_ERR_CONDUCTOR_PATH', `the value is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  return doc.toJS();
}

/** Resolve steps to the Document's key/index path; `create` appends `{ name }` elements that are missing. */
function resolve(doc: Document, steps: readonly Step[], pathText: string, create: boolean): Array<string | number> {
  const out: Array<string | number> = [];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if ('key' in step) {
      out.push(step.key);
      continue;
    }
    const node = doc.getIn(out, true);
    if (!isSeq(node)) {
      if (create && node === undefined && 'name' in step) {
        doc.setIn(out, doc.createNode([{ name: step.name }]));
        out.push(0);
        continue;
      }
      throw badPath(pathText, `${out.join('.')} is not a list`);
    }
    if ('index' in step) {
      if (step.index >= node.items.length) throw badPath(pathText, `${out.join('.')} has ${node.items.length} elements; index ${step.index} is past the end`);
      out.push(step.index);
      continue;
    }
    const at = node.items.findIndex((item) => isMap(item) && (() => {
      const n = item.get('name', true);
      return isScalar(n) && String(n.value) === step.name;
    })());
    if (at >= 0) {
      out.push(at);
    } else if (create) {
      node.items.push(doc.createNode({ name: step.name }));
      out.push(node.items.length - 1);
    } else {
      const names = node.items.map((item) => (isMap(item) ? item.get('name') : undefined)).filter((n) => n !== undefined);
      throw badPath(pathText, `${out.join('.')} has no element named "${step.name}"${names.length > 0 ? ` (names: ${names.join(', ')})` : ''}`);
    }
  }
  return out;
}

/** The candidate text with `path` set to `value`. */
export function setPath(text: string, pathText: string, value: unknown): string {
  const doc = parseCandidate(text);
  const path = resolve(doc, parsePath(pathText), pathText, true);
  const last = path[path.length - 1];
  // setting a whole named element to a mapping keeps its name
  const target = typeof last === 'number' && value !== null && typeof value === 'object' && !Array.isArray(value) && !('name' in value)
    ? { name: (doc.getIn([...path, 'name']) as unknown), ...value }
    : value;
  doc.setIn(path, doc.createNode(target));
  return doc.toString();
}

/** The candidate text without `path`. */
export function deletePath(text: string, pathText: string): string {
  const doc = parseCandidate(text);
  const path = resolve(doc, parsePath(pathText), pathText, false);
  if (!doc.hasIn(path)) throw badPath(pathText, 'no such field in the candidate');
  doc.deleteIn(path);
  return doc.toString();
}

/** The value at `path` (for `svr config show PATH`). */
export function getPath(text: string, pathText: string): unknown {
  const doc = parseCandidate(text);
  const path = resolve(doc, parsePath(pathText), pathText, false);
  if (!doc.hasIn(path)) throw badPath(pathText, 'no such field in the candidate');
  const node = doc.getIn(path, true);
  return isScalar(node) ? node.value : (node as { toJSON(): unknown }).toJSON();
}
