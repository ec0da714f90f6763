/** `svr`: each command's module is loaded only when the command runs; help and unknown commands see them all. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildProgram } from '../../../src/cli/main.js';

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

test.run();
