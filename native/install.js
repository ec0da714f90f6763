// `npm ci` / `npm install` run this (package.json "install"): builds the native addon (binding.gyp) with
// node-gyp. Where the C toolchain node-gyp needs is missing, it builds nothing, says so and lets npm ci
// succeed: as root, `npx svr setup` (or `svr lab up|demo`) installs the toolchain with apt-get and builds it.
// TOOLCHAIN is NATIVE_BUILD_TOOLS of src/lab/host-tools.ts (this runs before tsc; test/unit/lab/host-tools.test.ts
// checks that both agree). SVR_HIDE_TOOLS=cc,make makes the named tools count as missing.
import { spawnSync } from 'node:child_process';

const TOOLCHAIN = { cc: 'gcc', 'c++': 'g++', make: 'make', python3: 'python3' };

const hidden = new Set((process.env.SVR_HIDE_TOOLS ?? '').split(/[\s,]+/));
const missing = Object.keys(TOOLCHAIN).filter((t) => hidden.has(t) || spawnSync('sh', ['-c', `command -v '${t}'`], { stdio: 'ignore' }).status !== 0);
if (missing.length > 0) {
  const pkgs = [...new Set(missing.map((t) => TOOLCHAIN[t]))].join(' ');
  console.log(`svrouter: the native addon (TUN I/O) is not built: ${missing.join(', ')} missing. As root, \`npx svr setup\` installs ${pkgs} with apt-get and builds it.`);
} else {
  process.exitCode = spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit' }).status ?? 1;
}
