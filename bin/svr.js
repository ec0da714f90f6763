#!/usr/bin/env node
// The `svr` command: compiled TypeScript lives in dist/ (built by `npm ci` / `npm run build`).
const entry = new URL('../dist/src/cli/main.js', import.meta.url);
import(entry.href).then((m) => m.main(process.argv)).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(entry.pathname)) {
    console.error('svr: dist/ is missing. Run `npm run build` (or `npm ci`) in the svrouter folder first.');
  } else {
    console.error(err);
  }
  process.exitCode = 1;
});
