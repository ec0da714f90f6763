#!/usr/bin/env node
// The `svr` command: compiled TypeScript lives in dist/ (built by `npm ci` / `npm run build`).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('svr: dist/ is missing. Run `npm run build` (or `npm ci`) in the svrouter folder first.');
  } else {
    console.error(err);
  }
  process.exitCode = 1;
});
