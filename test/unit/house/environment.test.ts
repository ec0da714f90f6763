/**
 * docs/environment.md lists every SVR_* environment variable the code reads (src/, bench/, native/, test/,
 * .ci/run), and only those; every SVR_* name any other doc writes exists in the code (a variable, an error
 * code or a native identifier), so a renamed or removed switch cannot linger in the docs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../../../src/native/addon.js';

const root = findPackageRoot();
const SOURCE = /\.(ts|c|h|mjs|js)$/;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return SOURCE.test(e.name) ? [p] : [];
  });
}

const codeFiles = [...['src', 'bench', 'native', 'test'].flatMap(sources).filter((f) => !f.startsWith(join('test', 'unit', 'house'))), '.ci/run'].map((f) => [f, readFileSync(join(root, f), 'utf8')] as const);
/** Error codes are SVR_* names too: SVR_ERR_* and the addon's SVR_CRYPTO_*. */
const isCode = (name: string): boolean => name.startsWith('SVR_ERR_') || name.startsWith('SVR_CRYPTO_');

/**
 * The SVR_* environment variables one source text reads or sets: `process.env['X']`, `env.X`, a quoted 'X'
 * (`getenv("X")`, a switch's name passed on), `$X` / `${X}` in shell text; error codes left out.
 */
export function envNames(text: string): string[] {
  const names = [...text.matchAll(/['"](SVR_[A-Z0-9_]+)['"]|env\.(SVR_[A-Z0-9_]+)|\$\{?(SVR_[A-Z0-9_]+)/g)].map((m) => (m[1] ?? m[2] ?? m[3])!);
  return [...new Set(names)].filter((n) => !isCode(n));
}

/** The variables docs/environment.md lists: the backticked SVR_* names of its table rows' first cells. */
const listed = (md: string): string[] => md.split('\n').filter((l) => l.startsWith('| `SVR_')).flatMap((l) => [...l.split('|')[1]!.matchAll(/`(SVR_[A-Z0-9_]+)/g)].map((m) => m[1]!));

test('envNames finds reads and sets, in TypeScript, C and shell, and leaves error codes out', () => {
  const ts = "const a = process.env['SVR_A']; env.SVR_B; new Switch('SVR_C'); throw new SvrError('SVR_ERR_CLI_OPTION', 'x');";
  assert.equal(envNames(ts), ['SVR_A', 'SVR_B', 'SVR_C']);
  assert.equal(envNames('const char *v = getenv("SVR_D"); throw_code("SVR_CRYPTO_KEY"); #define SVR_E_H'), ['SVR_D']);
  assert.equal(envNames('demo="${SVR_F:-x}"; if [ -n "$SVR_G" ]'), ['SVR_F', 'SVR_G']);
  assert.equal(listed('| `SVR_A`, `SVR_B` | x `SVR_Z` |\n| variable |\n'), ['SVR_A', 'SVR_B']);
});

test('docs/environment.md lists every SVR_* variable the code reads, and only those', () => {
  const read = new Map<string, string>();
  for (const [f, text] of codeFiles) for (const n of envNames(text)) if (!read.has(n)) read.set(n, f);
  const doc = listed(readFileSync(join(root, 'docs', 'environment.md'), 'utf8'));
  assert.ok(read.size > 30, `${read.size} variables read`);
  assert.equal([...read].filter(([n]) => !doc.includes(n)).map(([n, f]) => `${n} (read in ${f})`), [], 'read but not in docs/environment.md');
  assert.equal(doc.filter((n) => !read.has(n)), [], 'in docs/environment.md but read nowhere');
});

test('every SVR_* name the docs write exists in the code', () => {
  const code = codeFiles.map(([, t]) => t).join('\n');
  const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const missing = docs.flatMap((f) => [...readFileSync(join(root, f), 'utf8').matchAll(/\bSVR_[A-Z0-9_]*[A-Z0-9]\b/g)]
    .map((m) => m[0]).filter((n) => !new RegExp(`\\b${n}\\b`).test(code)).map((n) => `${f}: ${n}`));
  assert.equal([...new Set(missing)], []);
});

test.run();
