/**
 * Builds the web UI (ui/src, Preact + uPlot) into dist/ui: index.html, app.js, app.css. Run by
 * `npm run build` and `prepare`, so the packed tarball carries the built files and nothing is built at
 * install time. Type-checks ui/ first (esbuild only strips types), then bundles and minifies with esbuild
 * (no CDN: every byte the page loads comes from dist/ui), and prints each file's size, raw and gzipped,
 * and the page's total script size against its budget.
 *
 *   node ui/build.mjs            type-check, bundle, report
 *   node ui/build.mjs --no-check bundle and report only
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, 'dist', 'ui');
/** the page's scripts, gzipped (issue 21) */
export const SCRIPT_BUDGET_BYTES = 250 * 1024;

if (!process.argv.includes('--no-check')) {
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'ui', 'tsconfig.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(root, 'ui', 'src', 'main.tsx') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
writeFileSync(join(out, 'index.html'), readFileSync(join(root, 'ui', 'index.html'), 'utf8'));

const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
let scripts = 0;
const lines = [];
for (const name of readdirSync(out).sort()) {
  const data = readFileSync(join(out, name));
  const gz = gzipSync(data, { level: 9 }).length;
  if (name.endsWith('.js')) scripts += gz;
  lines.push(`  ${name.padEnd(12)} ${kb(data.length).padStart(9)}  ${kb(gz).padStart(9)} gzipped`);
}
console.log(`web UI built into ${out}:\n${lines.join('\n')}`);
console.log(`script size: ${kb(scripts)} gzipped (budget ${kb(SCRIPT_BUDGET_BYTES)})`);
if (scripts > SCRIPT_BUDGET_BYTES) {
  console.error(`ui build: the scripts are ${kb(scripts)} gzipped, over the ${kb(SCRIPT_BUDGET_BYTES)} budget`);
  process.exit(1);
}
