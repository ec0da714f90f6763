/**
 * Every TypeScript and JavaScript sample in README.md and docs/*.md imports only the package ('svrouter',
 * 'svrouter/...') or Node (node:...), and compiles (strict) in a project of its own that uses the package
 * through its exports and declarations, as a user's would. Samples of internal modules, for contributors,
 * are fenced as ```ts internal and are not compiled (each file that has them is listed here). The complete
 * plugin example in docs/plugins.md is examples/plugin-session-guard/index.js, word for word.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ts from 'typescript';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPackageRoot } from '../../../src/native/addon.js';

const root = findPackageRoot();
/** Docs that describe internal modules for contributors, with ```ts internal samples. */
const INTERNAL_SAMPLES_IN = ['crypto.md', 'security.md', 'step.md', 'tun-io.md'];

interface Sample {
  file: string;
  line: number;
  lang: 'ts' | 'js';
  internal: boolean;
  code: string;
}

function samples(): Sample[] {
  const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md') && f !== 'api-report.md').map((f) => `docs/${f}`)];
  const out: Sample[] = [];
  for (const file of files) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^```(ts|typescript|js|javascript)(\s+internal)?\s*$/.exec(lines[i]!);
      if (m === null) continue;
      const end = lines.findIndex((l, k) => k > i && l.startsWith('```'));
      out.push({ file, line: i + 1, lang: m[1]!.startsWith('t') ? 'ts' : 'js', internal: m[2] !== undefined, code: lines.slice(i + 1, end).join('\n') });
      i = end;
    }
  }
  return out;
}

const all = samples();
const compiled = all.filter((s) => !s.internal);
const importsOf = (code: string): string[] => [...code.matchAll(/(?:import|export)\s[^'"`;]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => (m[1] ?? m[2])!);

test('the docs have samples, and internal ones only where internals are documented', () => {
  assert.ok(compiled.length >= 10, `${compiled.length} samples`);
  for (const s of all.filter((x) => x.internal)) assert.ok(INTERNAL_SAMPLES_IN.includes(s.file.replace('docs/', '')), `${s.file}:${s.line} is marked internal`);
});

test('samples import only svrouter (and its subpaths) and node:', () => {
  for (const s of compiled) {
    for (const spec of importsOf(s.code)) {
      const ok = spec === 'svrouter' || spec.startsWith('svrouter/') || spec.startsWith('node:') || spec === './index.js';
      assert.ok(ok, `${s.file}:${s.line} imports ${spec}`);
    }
  }
});

test('the complete plugin example of docs/plugins.md is examples/plugin-session-guard/index.js', () => {
  const file = readFileSync(join(root, 'examples', 'plugin-session-guard', 'index.js'), 'utf8').trimEnd();
  assert.ok(compiled.some((s) => s.file === 'docs/plugins.md' && s.lang === 'js' && s.code === file), 'docs/plugins.md has the example word for word');
});

test('every sample compiles (strict) against the package as installed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sf-samples-'));
  try {
    mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
    symlinkSync(root, join(dir, 'node_modules', 'svrouter'), 'dir');
    symlinkSync(join(root, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'samples', type: 'module', private: true }));
    writeFileSync(join(dir, 'index.js'), readFileSync(join(root, 'examples', 'plugin-session-guard', 'index.js')));
    const names = new Map<string, Sample>();
    compiled.forEach((s, i) => {
      const name = join(dir, `sample-${i}.${s.lang}`);
      // each sample is a module of its own (a sample without imports too)
      writeFileSync(name, `${s.code}\nexport {};\n`);
      names.set(name, s);
    });
    const program = ts.createProgram([...names.keys(), join(dir, 'index.js')], {
      module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
      strict: true, noEmit: true, allowJs: true, checkJs: true, skipLibCheck: true, types: ['node'], noUnusedLocals: false,
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const s = d.file !== undefined ? names.get(d.file.fileName) : undefined;
      const at = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
      const where = s !== undefined ? `${s.file}:${s.line + 1 + at}` : d.file?.fileName ?? '?';
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    assert.equal(problems, [], `\n${problems.join('\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
