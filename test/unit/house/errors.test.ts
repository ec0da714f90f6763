/**
 * docs/errors.md is every error code: its main table is src/errors.ts's codes in order, each with the code's own
 * description and a fix; its native table is each SVR_ERR_* the addon (native/) throws that src/errors.ts does not
 * have; and every SVR_ERR_* named in src/ is one of src/errors.ts's.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes } from '../../../src/errors.js';
import { findPackageRoot } from '../../../src/native/addon.js';

const root = findPackageRoot();

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return files(p, ext);
    return ext.test(e.name) ? [p] : [];
  });
}

/** The rows of the first table after `heading` (or the first table) whose first cell is a backticked code. */
function tableRows(md: string, heading?: string): string[][] {
  const from = heading === undefined ? md : md.slice(md.indexOf(heading));
  const lines = from.split('\n');
  const start = lines.findIndex((l) => l.startsWith('| `SVR_'));
  const rows = lines.slice(start, start + lines.slice(start).findIndex((l) => !l.startsWith('|')));
  return rows.map((r) => r.split(' | ').map((c) => c.replace(/^\| |\s*\|$/g, '').trim()));
}

const doc = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
const namesIn = (paths: string[]): Map<string, string> => {
  const out = new Map<string, string>();
  for (const f of paths) for (const m of readFileSync(join(root, f), 'utf8').matchAll(/['"](SVR_ERR_[A-Z0-9_]*[A-Z0-9])['"]/g)) if (!out.has(m[1]!)) out.set(m[1]!, f);
  return out;
};

test('the table reader takes the code, what, fix and link cells of each row', () => {
  const rows = tableRows('# x\n| code | what |\n|---|---|\n| `SVR_ERR_A` | what a | fix `a` | [m](m.md) |\n\n## Native\n| `SVR_ERR_B` | b |\n', '## Native');
  assert.equal(rows, [['`SVR_ERR_B`', 'b']]);
  assert.equal(tableRows('| `SVR_ERR_A` | what a | fix `a` | [m](m.md) |\n')[0], ['`SVR_ERR_A`', 'what a', 'fix `a`', '[m](m.md)']);
});

test('docs/errors.md lists every code of src/errors.ts in order, with its description and a fix', () => {
  const rows = tableRows(doc);
  assert.equal(rows.map((r) => r[0]!.replace(/`/g, '')), Object.keys(ErrorCodes));
  for (const [code, what, fix] of rows) {
    assert.is(what, ErrorCodes[code!.replace(/`/g, '') as keyof typeof ErrorCodes], `${code}'s description is src/errors.ts's`);
    assert.ok((fix ?? '').length > 10, `${code} has a fix`);
  }
});

test("docs/errors.md lists the addon's own codes, those src/errors.ts lacks", () => {
  const native = [...namesIn(files('native', /\.[ch]$/)).keys()].filter((c) => !(c in ErrorCodes)).sort();
  assert.ok(native.length > 0);
  assert.equal(tableRows(doc, "## The native addon's own codes").map((r) => r[0]!.replace(/`/g, '')).sort(), native);
});

test('every SVR_ERR_* code src/ names is one of src/errors.ts', () => {
  const unknown = [...namesIn(files('src', /\.ts$/))].filter(([c]) => !(c in ErrorCodes)).map(([c, f]) => `${c} (${f})`);
  assert.equal(unknown, []);
});

test.run();
