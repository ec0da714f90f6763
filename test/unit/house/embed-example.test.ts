/**
 * examples/embed is a program of its own that uses svrouter as a user would: the package is packed
 * (`npm pack`), installed from the tarball into a copy of the example (its own package.json: svrouter,
 * typescript, @types/node), the example is built with its strict tsconfig and run. A missing export, a type
 * the declarations lack or a broken `exports` map fails here. npm installs from its cache when it can
 * (`--prefer-offline`); install scripts are skipped (the memory links and the crypto need no addon).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPackageRoot } from '../../../src/native/addon.js';

const root = findPackageRoot();

/**
 * The bound of a step: a guard against a hang only (npm, tsc and the example bound nothing of the router; the example
 * bounds its own waits for the router's events). At load 26 one step passed the 120-300 s these were (spawnSync
 * ETIMEDOUT: the test's processes starved by benches at nice -10).
 */
const HANG_MS = 20 * 60_000;

/** `cmd args` in `cwd`; a step that timed out says which, after how long, at what load. */
function run(step: string, cmd: string, args: string[], cwd: string): { code: number; out: string } {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: HANG_MS, env: { ...process.env, npm_config_update_notifier: 'false' } });
  const hung = r.error !== undefined ? `\n${step}: ${String(r.error)} after ${Math.round((Date.now() - t0) / 1000)} s (load ${loadavg()[0]!.toFixed(1)})` : '';
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}${hung}` };
}

test('examples/embed builds (strict, svrouter only) and runs from the packed tarball', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sf-embed-'));
  try {
    const pack = run('npm pack', 'npm', ['pack', '--ignore-scripts', '--pack-destination', dir], root);
    assert.is(pack.code, 0, pack.out);
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball !== undefined, `npm pack wrote no tarball: ${pack.out}`);
    const app = join(dir, 'app');
    cpSync(join(root, 'examples', 'embed'), app, { recursive: true, filter: (src) => !/[/\\](node_modules|dist)$/.test(src) });
    const install = run('npm install', 'npm', ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', join(dir, tarball!)], app);
    assert.is(install.code, 0, install.out);
    const build = run('tsc', process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app);
    assert.is(build.code, 0, `the example does not build against the package:\n${build.out}`);
    const start = run('the example', process.execPath, [join(app, 'dist', 'main.js')], app);
    assert.is(start.code, 0, start.out);
    const out = start.out;
    console.log(out.split('\n').map((l) => `    ${l}`).join('\n').trimEnd());
    for (const line of [
      /^config: 0 problems$/m,
      /^r1 session\.created \w+ ingress lab\/echo 198\.18\.1\.10:40000 -> 198\.18\.3\.20:7 via wan0->r2\/wan0$/m,
      /^r1 session\.denied no-service 198\.18\.1\.10:40001 -> 198\.18\.7\.7:9 \(tenant lab\)$/m,
      /^r1 path\.down wan0->r2\/wan0 \(detection-time-expired\)$/m,
      /^r1 session\.migrated \w+ wan0->r2\/wan0 -> wan1->r2\/wan1 \(path-down\)$/m,
      /^r1 path\.up wan0->r2\/wan0 \(hold-down-over\)$/m,
      /^r1 config\.applied generation 2$/m,
      /^web: "hello from the server"$/m,
      /^problem authority\.services\[1\]\.accessPolicy\[0\]\.source: unknown tenant "nobody"/m,
      /^problem authority\.services\[1\]\.transport\[0\]\.ports\[0\]: /m,
      /^r1 session\.removed \w+ echo shutdown/m,
    ]) assert.match(out, line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
