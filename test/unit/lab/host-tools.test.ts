/**
 * The table of system tools and the install planner: which packages for which missing tools, on a host that
 * is root with apt-get (install them), root without apt-get or not root (the one command to run).
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ALL_HOST_TOOLS, HOST_TOOLS, missingTools, NATIVE_BUILD_TOOLS, packagesFor, planInstall } from '../../../src/lab/host-tools.js';

const ROOT = new URL('../../../../', import.meta.url);

test('planInstall: nothing missing, nothing to do', () => {
  assert.equal(planInstall([], { root: true, apt: true }), { action: 'none' });
  assert.equal(planInstall([], { root: false, apt: false }), { action: 'none' });
});

test('planInstall as root with apt-get: the packages of the missing tools, each once', () => {
  assert.equal(planInstall(['tcpdump'], { root: true, apt: true }), { action: 'apt', packages: ['tcpdump'] });
  assert.equal(planInstall(['ip', 'setpriv', 'unshare', 'cc', 'c++', 'wg'], { root: true, apt: true }),
    { action: 'apt', packages: ['iproute2', 'util-linux', 'gcc', 'g++', 'wireguard-tools'] });
});

test('planInstall without root or without apt-get: the one command to run', () => {
  assert.equal(planInstall(['tcpdump', 'sysctl'], { root: false, apt: true }),
    { action: 'tell', packages: ['tcpdump', 'procps'], command: 'sudo apt-get install -y tcpdump procps' });
  const noApt = planInstall(['curl'], { root: true, apt: false });
  assert.is(noApt.action, 'tell');
  assert.match(noApt.action === 'tell' ? noApt.command : '', /^install curl with your system's package manager/);
});

test('packagesFor: every tool has a Debian package; the toolchain is gcc g++ make python3', () => {
  assert.is(packagesFor(ALL_HOST_TOOLS).length, new Set(ALL_HOST_TOOLS.map((t) => HOST_TOOLS[t].pkg)).size);
  assert.equal(packagesFor(NATIVE_BUILD_TOOLS), ['gcc', 'g++', 'make', 'python3']);
});

test('missingTools: a program not on this host is missing; SVR_HIDE_TOOLS hides present ones', () => {
  assert.equal(missingTools(['sh', 'svr-no-such-program'], {}), ['svr-no-such-program']);
  assert.equal(missingTools(['sh', 'ls'], { SVR_HIDE_TOOLS: 'ls, tcpdump' }), ['ls']);
  assert.equal(missingTools(['sh', 'ls'], { SVR_HIDE_TOOLS: 'sh,ls' }), ['sh', 'ls']);
});

test('native/install.js (run by npm ci before tsc) checks the same toolchain as NATIVE_BUILD_TOOLS', () => {
  const text = readFileSync(new URL('native/install.js', ROOT), 'utf8');
  const m = /const TOOLCHAIN = (\{[^}]*\});/.exec(text);
  assert.ok(m, 'TOOLCHAIN in native/install.js');
  const toolchain = Function(`return ${m![1]}`)() as Record<string, string>;
  assert.equal(Object.keys(toolchain), [...NATIVE_BUILD_TOOLS]);
  assert.equal(Object.values(toolchain), packagesFor(NATIVE_BUILD_TOOLS));
});

test('the README lists the package of every tool the lab, tests and benchmark use', () => {
  const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
  const missing = packagesFor(ALL_HOST_TOOLS).filter((p) => !new RegExp(`(^|[\\s\`(])${p.replace(/\+/g, '\\+')}([\\s\`),]|$)`, 'm').test(readme));
  assert.equal(missing, [], `README.md does not name ${missing.join(', ')}`);
});

test.run();
