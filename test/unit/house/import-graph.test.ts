/** The import-graph checker against synthetic file sets: it passes clean code and fails on each kind of bad import. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkLayers, checkPicture, describeViolations, folderOf, importsOf, parseLayerPicture, parseLayerTable, type LayerRule } from './import-graph.js';

const TABLE = `
# Layers
<!-- layers:begin -->
| folder | holds | imports | packages |
|---|---|---|---|
| \`control\` | control | dataplane, packet | xstate |
| \`dataplane\` | per packet | packet | - |
| \`packet\` | bytes | errors | - |
| \`errors\` | errors | - | - |
<!-- layers:end -->
`;
const rules = parseLayerTable(TABLE);

/** A clean set: every import allowed, every allowance used. */
const CLEAN: Record<string, string> = {
  'errors.ts': 'export class SvrError extends Error {}\n',
  'packet/ip.ts': "import { SvrError } from '../errors.js';\nimport { readFileSync } from 'node:fs';\nexport const x = 1;\n",
  'dataplane/stages/decode.ts': "import { x } from '../../packet/ip.js';\nimport type { Batch } from '../batch.js';\n",
  'dataplane/batch.ts': 'export interface Batch { n: number }\n',
  'control/router.ts': "import {\n  setup,\n  createActor,\n} from 'xstate';\nimport type { Batch } from '../dataplane/batch.js';\nexport * from '../packet/ip.js';\n",
};
const withFiles = (extra: Record<string, string>): Map<string, string> => new Map(Object.entries({ ...CLEAN, ...extra }));

test('parses the table top layer first, with imports and packages', () => {
  assert.equal(rules, [
    { folder: 'control', imports: ['dataplane', 'packet'], packages: ['xstate'] },
    { folder: 'dataplane', imports: ['packet'], packages: [] },
    { folder: 'packet', imports: ['errors'], packages: [] },
    { folder: 'errors', imports: [], packages: [] },
  ] satisfies LayerRule[]);
  assert.throws(() => parseLayerTable('no table here'), /no layer table/);
});

test('finds static, multi-line, export-from, side-effect, type and dynamic imports; ignores comments and strings', () => {
  const src = [
    "import a from './a.js';",
    "import {\n  b,\n  type C,\n} from '../b.js';",
    "import type { D } from './d.js';",
    "export { e } from './e.js';",
    "export * from './f.js';",
    "import './g.js';",
    "const h = await import('./h.js');",
    "type I = import('./i.js').I;",
    "// import z from './commented.js';",
    "/* import y from './block.js'; */",
    "const s = \"import x from './in-a-string.js'\";",
    "const url = 'http://example.com/x.js';",
  ].join('\n');
  assert.equal(importsOf(src).sort(), ['../b.js', './a.js', './d.js', './e.js', './f.js', './g.js', './h.js', './i.js']);
});

test('a file belongs to its first folder; a top-level file to its own name', () => {
  assert.is(folderOf('dataplane/stages/decode.ts'), 'dataplane');
  assert.is(folderOf('errors.ts'), 'errors');
  assert.is(folderOf('errors.js'), 'errors', 'an import names the compiled file');
});

test('a clean file set passes', () => {
  const v = checkLayers(withFiles({}), rules);
  assert.equal(v, [], describeViolations(v));
});

test('FAILS on a deliberate upward import, naming the file, the import and the rule', () => {
  const v = checkLayers(withFiles({ 'packet/decode-meta.ts': "import { formatThing } from '../dataplane/batch.js';\n" }), rules);
  assert.is(v.length, 1, describeViolations(v));
  assert.equal(v[0], { file: 'packet/decode-meta.ts', import: '../dataplane/batch.js', rule: 'packet -> dataplane: dataplane is above packet (upward import)' });
});

test('fails on an upward type-only import and on one inside a multi-line import', () => {
  const v = checkLayers(withFiles({
    'dataplane/ownership.ts': "import type { Router } from '../control/router.js';\n",
    'packet/other.ts': "import {\n  a,\n  b,\n} from '../control/router.js';\n",
  }), rules);
  assert.equal(v.map((x) => x.file).sort(), ['dataplane/ownership.ts', 'packet/other.ts']);
  assert.ok(v.every((x) => x.rule.includes('upward import')));
});

test('fails on a cycle between two folders (one of its imports is upward)', () => {
  const v = checkLayers(withFiles({ 'dataplane/uses-control.ts': "export { x } from '../control/router.js';\n" }), rules);
  assert.is(v.length, 1);
  assert.match(v[0]!.rule, /dataplane -> control: control is above dataplane/);
});

test('fails on a downward import the row does not allow, and on a package the row does not allow', () => {
  const v = checkLayers(withFiles({
    'dataplane/err.ts': "import { SvrError } from '../errors.js';\n",
    'dataplane/events.ts': "import { Subject } from 'rxjs';\n",
    'packet/scoped.ts': "import x from '@scope/pkg/sub';\n",
  }), rules);
  assert.equal(v.map((x) => x.rule).sort(), [
    'dataplane -> errors: dataplane may import only packet',
    'dataplane may not import the package rxjs (its packages: none)',
    'packet may not import the package @scope/pkg (its packages: none)',
  ]);
});

test('fails on a folder missing from the table and on an import leaving src', () => {
  const v = checkLayers(withFiles({ 'telemetry/ipfix.ts': 'export const y = 2;\n', 'packet/bad.ts': "import '../../bench/run.js';\n" }), rules);
  assert.equal(v.map((x) => x.rule).sort(), [
    'folder telemetry is not in the layer table: add a row saying what it holds and what it imports',
    'src files import only from src',
  ]);
});

test('fails on table mistakes: an upward allowance, an unknown folder, an allowance no file uses', () => {
  const bad = parseLayerTable(TABLE.replace('| `dataplane` | per packet | packet |', '| `dataplane` | per packet | packet, control, nowhere |'));
  const v = checkLayers(withFiles({}), bad);
  const rulesText = v.map((x) => x.rule);
  assert.ok(rulesText.includes('dataplane may not import control: control is not below it in the layer table'), describeViolations(v));
  assert.ok(rulesText.includes('dataplane may import nowhere, which is not in the layer table'), describeViolations(v));
  assert.ok(v.every((x) => x.file === 'docs/architecture.md'));
  const unused = checkLayers(new Map(Object.entries(CLEAN).filter(([f]) => f !== 'dataplane/stages/decode.ts')), rules);
  assert.equal(unused.map((x) => x.rule), ['dataplane may import packet, but no file in dataplane does: remove it from the table']);
});

test('the picture check: passes a picture that matches the table, fails one with an import on its own line or above', () => {
  const good = parseLayerPicture('<!-- layer-picture:begin -->\n```\n   control\n  dataplane\n   packet\n   errors\n```\n<!-- layer-picture:end -->');
  assert.equal(good, [['control'], ['dataplane'], ['packet'], ['errors']]);
  assert.equal(checkPicture(good, rules), []);
  const beside = checkPicture([['control'], ['dataplane', 'packet'], ['errors']], rules);
  assert.equal(beside.map((x) => x.rule), ['the layer picture shows packet beside dataplane, which imports it']);
  const above = checkPicture([['control'], ['packet'], ['dataplane'], ['errors']], rules);
  assert.equal(above.map((x) => x.rule), ['the layer picture shows packet above dataplane, which imports it']);
  const missing = checkPicture([['control'], ['dataplane'], ['packet'], ['telemetry']], rules);
  assert.equal(missing.map((x) => x.rule).sort(), ['the layer picture does not show errors', 'the layer picture shows telemetry, which is not in the layer table']);
});

test.run();
