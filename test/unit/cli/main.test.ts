/** `svr`: each command's module is loaded only when the command runs; help and unknown commands see them all. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildProgram, describeFailure } from '../../../src/cli/main.js';
import { SvrError } from '../../../src/errors.js';

const ALL = ['node', 'show', 'inspect', 'explain', 'decode', 'lab', 'setup', 'identity', 'conductor', 'config'];
const names = async (...args: string[]): Promise<string[]> => (await buildProgram(['node', 'svr', ...args])).commands.map((c) => c.name());
const SVR = fileURLToPath(new URL('../../../../bin/svr.js', import.meta.url));

test('a named command registers only itself, also after help', async () => {
  assert.equal(await names('show', 'sessions'), ['show']);
  assert.equal(await names('help', 'conductor'), ['conductor']);
  assert.equal(await names('--version'), []);
});

test('no command, --help or an unknown command: every command, in the order of svr --help', async () => {
  assert.equal(await names(), ALL);
  assert.equal(await names('--help'), ALL);
  assert.equal(await names('bogus'), ALL);
});

test('the svr binary: help names every command; an unknown command is refused with the hint', () => {
  const help = spawnSync(process.execPath, [SVR, '--help'], { encoding: 'utf8' });
  assert.is(help.status, 0);
  for (const c of ALL) assert.match(help.stdout, new RegExp(`\\n  ${c}\\b`), c);
  const bad = spawnSync(process.execPath, [SVR, 'bogus'], { encoding: 'utf8' });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /unknown command 'bogus'/);
  const show = spawnSync(process.execPath, [SVR, 'help', 'show'], { encoding: 'utf8' });
  assert.is(show.status, 0);
  assert.match(show.stdout, /Usage: svr show/);
});

test('an error no command reported is printed coded: its own code, a system error, else a bug with its stack', () => {
  assert.is(describeFailure(new SvrError('SVR_ERR_LAB_ROOT', 'the lab needs root')), 'svr: the lab needs root [SVR_ERR_LAB_ROOT]');
  const denied = Object.assign(new Error("EACCES: permission denied, open '/run/svr/r1.sock'"), { code: 'EACCES' });
  assert.is(describeFailure(denied), "svr: EACCES: permission denied, open '/run/svr/r1.sock' (run it as root or with the rights it needs) [SVR_ERR_CLI_SYSTEM]");
  const bug = describeFailure(new TypeError("Cannot read properties of undefined (reading 'x')"));
  assert.match(bug, /^svr: the command failed unexpectedly, a bug: please report it with what follows \[SVR_ERR_CLI_INTERNAL\]\nTypeError: Cannot read/);
  assert.match(bug, /\n\s+at /, 'with its stack');
  assert.match(describeFailure('thrown text'), /\[SVR_ERR_CLI_INTERNAL\]\nthrown text$/);
});

test.run();
