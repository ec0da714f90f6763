/**
 * The docs and `svr --help` agree, from the parser's own option list: every `svr ...` command line in README.md
 * and docs/*.md uses only options its command accepts, and docs/cli.md is every command's help (so every option
 * the parser has is documented). SVR_UPDATE_DOCS=1 rewrites docs/cli.md.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { buildProgram } from '../../../src/cli/main.js';
import { findPackageRoot } from '../../../src/native/addon.js';
import { allCommands, checkCommandLine, cliReference, cliTree, svrCommandLines, type CliCommand } from './cli-docs.js';

const root = findPackageRoot();
const docFiles = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md') && f !== 'api-report.md' && f !== 'cli.md').map((f) => `docs/${f}`)];
const program = await buildProgram();
const tree = cliTree(program);
const unknownOptions = (t: CliCommand, line: string): string[] => checkCommandLine(t, line).unknown;
const docLines = docFiles.flatMap((f) => svrCommandLines(f, readFileSync(join(root, f), 'utf8')));

test('the checker finds an option its command lacks, through alternatives, continued lines and inline code', () => {
  const planted = new Command('svr');
  const show = planted.command('show');
  show.command('sessions').option('--json').option('--limit <n>');
  show.command('peers').option('--json');
  planted.command('decode').argument('<file>').option('--pretty');
  const t = cliTree(planted);
  assert.equal(unknownOptions(t, 'svr show sessions|peers [--json] --limit 5'), ['svr show peers has no --limit']);
  assert.equal(unknownOptions(t, 'svr decode capture.pcap --pretty --summary'), ['svr decode has no --summary']);
  assert.equal(unknownOptions(t, 'svr show sessions --help'), []);
  assert.equal(svrCommandLines('t.md', '| `svr show sessions\\|peers --json` |').map((l) => l.text), ['svr show sessions|peers --json']);
  const md = 'Run `svr show peers --limit 3` or:\n\n```sh\nsvr decode x.pcap \\\n  --pretty --sumary   # typo\nls --all\n```\n';
  const lines = svrCommandLines('x.md', md);
  assert.equal(lines.map((l) => [l.line, l.text]), [[1, 'svr show peers --limit 3'], [4, 'svr decode x.pcap --pretty --sumary']]);
  assert.equal(lines.flatMap((l) => unknownOptions(t, l.text)), ['svr show peers has no --limit', 'svr decode has no --sumary']);
});

test('every svr command line in README.md, docs/ and the help texts uses options its command accepts', () => {
  assert.ok(docLines.length > 100, `${docLines.length} command lines found`);
  const helpLines = svrCommandLines('docs/cli.md', cliReference(program)).filter((l) => !/^svr [\w -]*\[options\]/.test(l.text));
  const bad = [...docLines, ...helpLines].flatMap((l) => unknownOptions(tree, l.text).map((b) => `${l.file}:${l.line}: ${b} (${l.text})`));
  assert.equal(bad, []);
});

test('every command the parser has is shown in a command line of README.md or docs/ (besides docs/cli.md)', () => {
  const shown = new Set(docLines.flatMap((l) => checkCommandLine(tree, l.text).commands));
  assert.equal(allCommands(tree).filter((c) => c.subcommands.size === 0 && !shown.has(c.path)).map((c) => c.path), []);
});

/** The guides' option tables: each lists every option of its command (the flags of the first table whose rows start with one). */
const OPTION_TABLES: ReadonlyArray<readonly [string, string]> = [['docs/lab.md', 'svr lab up'], ['docs/decode.md', 'svr decode']];

test('the option tables of the guides list every option of their command, and only those', () => {
  for (const [file, command] of OPTION_TABLES) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    const start = lines.findIndex((l) => l.startsWith('| `--'));
    const rows = lines.slice(start, start + lines.slice(start).findIndex((l) => !l.startsWith('| `--')));
    const documented = rows.map((r) => /^\| `(--[a-z0-9-]+)/.exec(r)![1]!).sort();
    const c = allCommands(tree).find((x) => x.path === command)!;
    assert.equal(documented, [...c.options].filter((o) => o !== '--help').sort(), `${file}: the table of ${command}'s options`);
  }
});

test('docs/cli.md is every command\'s --help', () => {
  const file = join(root, 'docs', 'cli.md');
  const want = cliReference(program);
  const committed = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (committed !== want && process.env['SVR_UPDATE_DOCS'] === '1') writeFileSync(file, want);
  else assert.fixture(committed, want, "the command line changed: regenerate with SVR_UPDATE_DOCS=1 node dist/test/support/run-tests.js 'unit/house/cli-docs\\.test\\.js$' and review the diff");
});

test.run();
