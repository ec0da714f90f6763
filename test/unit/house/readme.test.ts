/**
 * What README.md states about the host and the scripts is what the code has: its table of programs is the lab's
 * list (src/lab/host-tools.ts, what `svr setup` installs) with the same packages; every `npm run X` in README.md
 * and docs/ is a script of package.json; every benchmark command line there uses options and modes bench/run.ts
 * parses, and performance.md's "Running it" names each option; the quick start's commands are those .ci/run runs; and no prose states a test count (it changes with
 * every merge: the summary's shape stays true).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_TOOLS } from '../../../src/lab/host-tools.js';
import { findPackageRoot } from '../../../src/native/addon.js';

const root = findPackageRoot();
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const docs = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => [`docs/${f}`, readFileSync(join(root, 'docs', f), 'utf8')] as const);

/** The README's program table: each program (first cell's backticked names) with its package (second cell's). */
function programTable(markdown: string): Map<string, string> {
  const start = markdown.indexOf('| program | Debian/Ubuntu package |');
  assert.ok(start >= 0, 'README.md has the program table');
  const lines = markdown.slice(start).split('\n').slice(2);
  const rows = lines.slice(0, lines.findIndex((l) => !l.startsWith('|')));
  const out = new Map<string, string>();
  for (const row of rows) {
    const [programs, packages] = row.split('|').slice(1, 3).map((c) => c.trim()) as [string, string];
    const names = [...programs.replace(/\(.*\)/, '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const pkgs = packages.split(',').map((p) => p.trim());
    names.forEach((n, i) => out.set(n, pkgs[Math.min(i, pkgs.length - 1)]!));
  }
  return out;
}

test('the program table reads each program with its package', () => {
  const t = programTable('| program | Debian/Ubuntu package | used by |\n| --- | --- | --- |\n| `ip` | iproute2 | x |\n| `cc`, `make` | gcc, make | y |\n| `vtysh` (and `zebra`) | frr | z |\n\nafter\n');
  assert.equal([...t], [['ip', 'iproute2'], ['cc', 'gcc'], ['make', 'make'], ['vtysh', 'frr']]);
});

test('README.md lists every program svr setup installs, with its package, and no other', () => {
  const want = new Map(Object.entries(HOST_TOOLS).map(([name, t]) => [name, t.pkg]));
  assert.equal([...programTable(readme)].sort(), [...want].sort());
});

test('every npm run script named in README.md and docs/ is in package.json', () => {
  const scripts = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
  const named = [['README.md', readme] as const, ...docs].flatMap(([f, text]) => [...text.matchAll(/npm run ([\w:-]+)/g)].map((m) => `${f}: ${m[1]}`));
  assert.ok(named.length > 10);
  assert.equal(named.filter((n) => !scripts.includes(n.split(': ')[1]!)), []);
});

test("the quick start's commands are the ones .ci/run runs", () => {
  const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
  const quick = /## Quick start[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const commands = quick.split('\n').flatMap((l) => l.replace(/#.*/, '').split('&&')).map((c) => c.trim()).filter((c) => c !== '');
  assert.equal(commands, ['npm ci', 'npx svr lab demo', 'npm test']);
  for (const c of commands) assert.ok(new RegExp(`^${c}\\b`, 'm').test(ci), `.ci/run runs ${c}`);
});

test('no prose states a test count (Total: 1386 ...)', () => {
  const counts = [['README.md', readme] as const, ...docs].flatMap(([f, text]) => [...text.matchAll(/Total:\s+\d+|\b\d[\d,]* (?:unit |e2e |end-to-end )?tests? (?:pass|ran)/g)].map((m) => `${f}: ${m[0]}`));
  assert.equal(counts, []);
});

/** The benchmark command lines of a markdown text: what follows `bench/run.js` or `npm run bench --`, to a comment, quote or pipe. */
function benchLines(markdown: string): string[] {
  return [...markdown.matchAll(/(?:dist\/bench\/run\.js|npm run bench --)((?:[ \t]+[^\s`'#|)]+)*)/g)].map((m) => m[1]!.trim());
}

test('the benchmark command lines of the docs use the options and modes bench/run.ts parses', () => {
  assert.equal(benchLines('`node dist/bench/run.js --only kernel,svrouter --no-docs` and\nnpm run bench -- --case tcp   # x'), ['--only kernel,svrouter --no-docs', '--case tcp']);
  const run = readFileSync(join(root, 'bench', 'run.ts'), 'utf8');
  const options = new Set([...run.matchAll(/a === '(--[a-z-]+)'/g)].map((m) => m[1]!));
  const modes = [.../const ALL_MODES = \[([^\]]*)\]/.exec(run)![1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
  assert.ok(options.has('--only') && modes.includes('svrouter'));
  const bad = [['README.md', readme] as const, ...docs].flatMap(([f, text]) => benchLines(text).flatMap((line) => {
    const words = line.split(/\s+/);
    return words.flatMap((w, i) => {
      if (w.startsWith('--') && !options.has(w)) return [`${f}: ${w} (${line})`];
      if (w === '--only') return (words[i + 1] ?? '').split(',').filter((m) => !/^$|^[A-Z.]+$|[<…]/.test(m) && !modes.includes(m)) // placeholders (M, <mode>) and line ends pass.map((m) => `${f}: mode ${m} (${line})`);
      return [];
    });
  }));
  assert.equal(bad, []);
  const perf = readFileSync(join(root, 'docs', 'performance.md'), 'utf8');
  const running = perf.slice(perf.indexOf('## Running it'), perf.indexOf('\n## ', perf.indexOf('## Running it') + 1));
  assert.equal([...options].filter((o) => o !== '--help' && !running.includes(o)), [], 'each option in docs/performance.md "Running it"');
});

test.run();
