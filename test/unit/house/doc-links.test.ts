/**
 * Every relative link in the package's markdown (README.md, docs/, examples/, the built-in plugins' READMEs)
 * resolves: the file exists and the `#anchor` is a heading of it. Links out of the package (`../shared/...`,
 * the web) are not followed. Every path into the package README.md and docs/ name in prose (`src/...`,
 * `native/...`, `bench/x.js` built from bench/x.ts) exists, and each section the code and docs cite by name
 * (`docs/paths.md "Hold-down"`) is a heading or a bold paragraph lead of that doc.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../../../src/native/addon.js';
import { anchors, brokenLinks, links, namesSection, repoPaths, sectionRefs, sectionTitles, slug } from './doc-links.js';

const root = findPackageRoot();
const SKIP = new Set(['node_modules', 'dist', 'build', '.git']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name)) return [];
    const p = join(dir, e.name);
    if (e.isDirectory()) return markdownFiles(p);
    return e.name.endsWith('.md') ? [p] : [];
  });
}

const readDisk = (p: string): string | undefined => (existsSync(p) && statSync(p).isFile() ? readFileSync(p, 'utf8') : undefined);

test('slugs, anchors and links as GitHub makes and reads them', () => {
  assert.is(slug('Quiet partial runs after the merges of 2026-12-06 wave 15 (15:06–15:23, load ≤ 4)'), 'quiet-partial-runs-after-the-merges-of-2026-12-06-wave-15-15061523-load--4');
  assert.is(slug('More routers: `--routers N`, `--topology T`'), 'more-routers---routers-n---topology-t');
  assert.equal([...anchors('# A\n## A\n```\n# not a heading\n```\n<a id="x"></a>\n')], ['a', 'a-1', 'x']);
  assert.equal(links('[a](b.md#c) `[d](e.md)`\n```\n[f](g.md)\n```\n![i](img/j.svg) [w](https://x.org/)'), [{ line: 1, target: 'b.md#c' }, { line: 5, target: 'img/j.svg' }, { line: 5, target: 'https://x.org/' }]);
});

test('the check finds a missing file, a missing anchor and a bad in-page anchor; it leaves the web and ../shared alone', () => {
  const files: Record<string, string> = {
    '/p/README.md': '[ok](docs/a.md#two) [gone](docs/nope.md) [typo](docs/a.md#tow) [web](https://x.org/#y) [shared](../shared/z.md#q)\n',
    '/p/docs/a.md': '# One\n[self](#one) [bad](#three) [img](img/x.svg)\n## Two\n',
    '/p/docs/img/x.svg': '<svg/>',
  };
  const bad = brokenLinks('/p', ['/p/README.md', '/p/docs/a.md'], (p) => files[p], (p) => p in files);
  assert.equal(bad, [
    'README.md:1: docs/nope.md (no such file)',
    'README.md:1: docs/a.md#tow (no heading with that anchor)',
    'docs/a.md:2: #three (no heading with that anchor)',
  ]);
});

test('every relative link in the markdown resolves to a file and a heading', () => {
  const files = markdownFiles(root);
  assert.ok(files.length > 20, `${files.length} markdown files`);
  assert.equal(brokenLinks(root, files, readDisk, existsSync), []);
});

test('repository paths in prose: found with their lines, globs and placeholders and outside paths left out', () => {
  const md = 'see src/io/tun/native.ts and `native/tun.c`;\nnot ../shared/docs/x.md, src/plugins/builtin/*/index.ts or docs/<name>.md; bench/run.js.';
  assert.equal(repoPaths(md), [{ line: 1, target: 'src/io/tun/native.ts' }, { line: 1, target: 'native/tun.c' }, { line: 2, target: 'bench/run.js' }]);
});

test('every path into the package that README.md and docs/ name exists', () => {
  const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md') && f !== 'api-report.md').map((f) => `docs/${f}`)];
  const exists = (p: string): boolean => existsSync(join(root, p)) || (/^(bench|test|examples)\/.*\.js$/.test(p) && existsSync(join(root, p.replace(/\.js$/, '.ts'))));
  const missing = docs.flatMap((f) => repoPaths(readFileSync(join(root, f), 'utf8')).filter((p) => !exists(p.target)).map((p) => `${f}:${p.line}: ${p.target}`));
  assert.equal(missing, []);
});

test('section references by name: found across comment lines, matched to headings and bold leads', () => {
  const refs = sectionRefs(' * see docs/paths.md "Steady packets stay in\n * the data path" and docs/x.md, "Hold-down".');
  assert.equal(refs, [{ line: 1, target: 'docs/paths.md', title: 'steady packets stay in the data path' }, { line: 2, target: 'docs/x.md', title: 'hold-down' }]);
  const titles = sectionTitles('# Paths\n## Hold-down\n- **Steady packets stay in the data path.** When ...\n');
  assert.ok(namesSection(titles, 'steady packets stay in the data path'));
  assert.ok(namesSection(titles, 'hold-down'));
  assert.not.ok(namesSection(titles, 'steady control messages stay in the data path'));
});

/** Source and doc files that may cite docs by section name. */
function citingFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return p === join('test', 'unit', 'house') ? [] : citingFiles(p);
    return /\.(ts|tsx|c|h|md)$/.test(e.name) ? [p] : [];
  });
}

test('every section the code and docs cite by name is a heading or bold lead of that doc', () => {
  const titles = new Map<string, string[]>();
  const titlesOf = (doc: string): string[] | undefined => {
    if (!titles.has(doc)) titles.set(doc, existsSync(join(root, doc)) ? sectionTitles(readFileSync(join(root, doc), 'utf8')) : []);
    return titles.get(doc);
  };
  const files = ['README.md', ...['docs', 'src', 'native', 'bench', 'test', 'ui'].flatMap(citingFiles)];
  const refs = files.flatMap((f) => sectionRefs(readFileSync(join(root, f), 'utf8')).map((r) => ({ ...r, file: f })));
  assert.ok(refs.length > 50, `${refs.length} references`);
  const bad = refs.filter((r) => !namesSection(titlesOf(r.target)!, r.title)).map((r) => `${r.file}:${r.line}: ${r.target} "${r.title}"`);
  assert.equal(bad, []);
});

test.run();
