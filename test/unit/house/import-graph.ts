/**
 * The import-graph check behind the layering rule (docs/architecture.md, "Layers"): which src folder may
 * import which, read from the layer table in the doc, checked against the import lines of every src file.
 *
 * 1. `parseLayerTable(markdown)`: the rows between `<!-- layers:begin -->` and `<!-- layers:end -->`,
 *    top layer first: `| folder | holds | imports | packages |` (`-` for none).
 * 2. `importsOf(source)`: every module specifier of a file (static import/export ... from, side-effect
 *    imports, dynamic import() with a string literal, `import('...')` types), comments and other
 *    strings ignored. Type-only imports count: they tie the folders together as much as value imports.
 * 3. `checkLayers(files, rules)`: one violation per offending import, naming the file, the import and the
 *    rule; plus the table's own mistakes (a folder allowed to import one above it, a folder of src
 *    missing from the table) and allowances no file uses (the table must say exactly what the code does).
 *    A folder may import only folders below it that its row names, so a cycle between folders always
 *    contains a forbidden import and fails too.
 */
import { posix } from 'node:path';

export interface LayerRule {
  /** first path segment under src/ (a top-level file counts as the folder named after it: errors.ts -> errors) */
  readonly folder: string;
  /** folders below this one it may import */
  readonly imports: readonly string[];
  /** npm packages it may import (node: builtins are always allowed) */
  readonly packages: readonly string[];
}

export interface Violation {
  /** src-relative file (or the doc, for mistakes in the table) */
  readonly file: string;
  /** the specifier as written ('' for table mistakes) */
  readonly import: string;
  readonly rule: string;
}

export const LAYERS_BEGIN = '<!-- layers:begin -->';
export const LAYERS_END = '<!-- layers:end -->';

/** The layer table's rows, top layer first. Throws when the markers or the columns are missing. */
export function parseLayerTable(markdown: string): LayerRule[] {
  const begin = markdown.indexOf(LAYERS_BEGIN);
  const end = markdown.indexOf(LAYERS_END);
  if (begin < 0 || end < begin) throw new Error(`no layer table between ${LAYERS_BEGIN} and ${LAYERS_END}`);
  const rows = markdown.slice(begin + LAYERS_BEGIN.length, end).split('\n').map((l) => l.trim()).filter((l) => l.startsWith('|'));
  const cells = rows.map((r) => r.slice(1, r.endsWith('|') ? -1 : undefined).split('|').map((c) => c.trim()));
  const header = cells[0]?.map((c) => c.toLowerCase()) ?? [];
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`layer table: no "${name}" column (columns: ${header.join(', ')})`);
    return i;
  };
  const [folder, imports, packages] = [col('folder'), col('imports'), col('packages')];
  const list = (text: string): string[] => text.replace(/`/g, '').split(',').map((s) => s.trim().replace(/\/$/, '')).filter((s) => s !== '' && s !== '-');
  return cells.slice(1).filter((c) => !/^[-: ]+$/.test(c.join(''))).map((c) => ({
    folder: list(c[folder] ?? '')[0] ?? '',
    imports: list(c[imports] ?? ''),
    packages: list(c[packages] ?? ''),
  }));
}

/** Source text with comments blanked out (string and template literals kept, so `'//'` in a string survives). */
function stripComments(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const close = src.indexOf('*/', i + 2);
      const stop = close < 0 ? src.length : close + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const STATIC = /(?:^|[\n;])\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?(['"])([^'"\n]+)\1/g;
const DYNAMIC = /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g;

/** Module specifiers of a TypeScript file, in order of appearance per kind. */
export function importsOf(source: string): string[] {
  const code = stripComments(source);
  const found: string[] = [];
  for (const re of [STATIC, DYNAMIC]) for (const m of code.matchAll(re)) found.push(m[2]!);
  return found;
}

/** The folder a src-relative file belongs to: its first path segment, or a top-level file's name. */
export function folderOf(file: string): string {
  const [first, ...rest] = file.split('/');
  return rest.length === 0 ? first!.replace(/\.[jt]s$/, '') : first!;
}

const packageOf = (spec: string): string => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

/**
 * Checks every file (src-relative path -> source text) against the rules. `tableFile` names the doc in
 * messages about the table itself.
 */
export function checkLayers(files: ReadonlyMap<string, string>, rules: readonly LayerRule[], tableFile = 'docs/architecture.md'): Violation[] {
  const out: Violation[] = [];
  const rank = new Map<string, number>();
  rules.forEach((r, i) => {
    if (rank.has(r.folder)) out.push({ file: tableFile, import: '', rule: `folder ${r.folder} is listed twice in the layer table` });
    rank.set(r.folder, i);
  });
  const byFolder = new Map(rules.map((r) => [r.folder, r]));
  for (const r of rules) {
    for (const to of r.imports) {
      const at = rank.get(to);
      if (at === undefined) out.push({ file: tableFile, import: '', rule: `${r.folder} may import ${to}, which is not in the layer table` });
      else if (at <= rank.get(r.folder)!) out.push({ file: tableFile, import: '', rule: `${r.folder} may not import ${to}: ${to} is not below it in the layer table` });
    }
  }
  const used = new Set<string>();
  const usedPackages = new Set<string>();
  for (const [file, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const folder = folderOf(file);
    const rule = byFolder.get(folder);
    if (rule === undefined) {
      out.push({ file, import: '', rule: `folder ${folder} is not in the layer table: add a row saying what it holds and what it imports` });
      continue;
    }
    for (const spec of importsOf(text)) {
      if (spec.startsWith('node:')) continue;
      if (!spec.startsWith('.')) {
        const pkg = packageOf(spec);
        usedPackages.add(`${folder} ${pkg}`);
        if (!rule.packages.includes(pkg)) {
          out.push({ file, import: spec, rule: `${folder} may not import the package ${pkg} (its packages: ${rule.packages.join(', ') || 'none'})` });
        }
        continue;
      }
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      if (target.startsWith('..')) {
        out.push({ file, import: spec, rule: 'src files import only from src' });
        continue;
      }
      const to = folderOf(target);
      if (to === folder) continue;
      used.add(`${folder} ${to}`);
      if (rule.imports.includes(to)) continue;
      const toRank = rank.get(to);
      const why = toRank === undefined ? `${to} is not in the layer table`
        : toRank < rank.get(folder)! ? `${to} is above ${folder} (upward import)`
          : `${folder} may import only ${rule.imports.join(', ') || 'nothing'}`;
      out.push({ file, import: spec, rule: `${folder} -> ${to}: ${why}` });
    }
  }
  for (const r of rules) {
    for (const to of r.imports) {
      if (!used.has(`${r.folder} ${to}`)) out.push({ file: tableFile, import: '', rule: `${r.folder} may import ${to}, but no file in ${r.folder} does: remove it from the table` });
    }
    for (const p of r.packages) {
      if (!usedPackages.has(`${r.folder} ${p}`)) out.push({ file: tableFile, import: '', rule: `${r.folder} may import the package ${p}, but no file in ${r.folder} does: remove it from the table` });
    }
  }
  return out;
}

/** One line per violation, for assertion messages. */
export function describeViolations(v: readonly Violation[]): string {
  return v.map((x) => `${x.file}${x.import ? ` imports '${x.import}'` : ''}: ${x.rule}`).join('\n');
}

export const PICTURE_BEGIN = '<!-- layer-picture:begin -->';
export const PICTURE_END = '<!-- layer-picture:end -->';

/** The layer picture: folder names by line, top line first. */
export function parseLayerPicture(markdown: string): string[][] {
  const begin = markdown.indexOf(PICTURE_BEGIN);
  const end = markdown.indexOf(PICTURE_END);
  if (begin < 0 || end < begin) throw new Error(`no layer picture between ${PICTURE_BEGIN} and ${PICTURE_END}`);
  return markdown.slice(begin + PICTURE_BEGIN.length, end).split('\n')
    .filter((l) => !l.trim().startsWith('```'))
    .map((l) => l.trim().split(/\s+/).filter((w) => w !== ''))
    .filter((words) => words.length > 0);
}

/** The picture against the table: every folder once, and every allowed import on a lower line. */
export function checkPicture(picture: readonly (readonly string[])[], rules: readonly LayerRule[], file = 'docs/architecture.md'): Violation[] {
  const out: Violation[] = [];
  const line = new Map<string, number>();
  picture.forEach((words, i) => {
    for (const w of words) {
      if (line.has(w)) out.push({ file, import: '', rule: `the layer picture shows ${w} twice` });
      line.set(w, i);
    }
  });
  for (const w of line.keys()) if (!rules.some((r) => r.folder === w)) out.push({ file, import: '', rule: `the layer picture shows ${w}, which is not in the layer table` });
  for (const r of rules) {
    const at = line.get(r.folder);
    if (at === undefined) {
      out.push({ file, import: '', rule: `the layer picture does not show ${r.folder}` });
      continue;
    }
    for (const to of r.imports) {
      const below = line.get(to);
      if (below !== undefined && below <= at) out.push({ file, import: '', rule: `the layer picture shows ${to} ${below === at ? 'beside' : 'above'} ${r.folder}, which imports it` });
    }
  }
  return out;
}
