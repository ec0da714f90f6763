/**
 * Getting a host ready: the system tools (host-tools.ts, installed with apt-get as root) and the native
 * addon (built with node-gyp when `npm ci` could not: it skips the build on a host without a C toolchain).
 * `svr setup` readies everything the lab, the tests and the benchmark use; `svr lab up|demo` only what
 * the lab needs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SvrError } from '../errors.js';
import { findPackageRoot, NATIVE_ADDON_RELATIVE_PATH } from '../native/addon.js';
import { ALL_HOST_TOOLS, installTools, NATIVE_BUILD_TOOLS, type HostToolName } from './host-tools.js';
import { requireRoot } from './run.js';

export function nativeAddonBuilt(root: string = findPackageRoot()): boolean {
  return existsSync(join(root, NATIVE_ADDON_RELATIVE_PATH));
}

/** `npm run build:native` (node-gyp rebuild) in the package root; throws SVR_ERR_NATIVE_MISSING with its output's end. */
export function buildNativeAddon(progress: (line: string) => void, root: string = findPackageRoot()): void {
  progress(`building the native addon: npm run build:native (node-gyp rebuild) in ${root}`);
  const r = spawnSync('npm', ['run', 'build:native'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0 || !nativeAddonBuilt(root)) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error?.message ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new SvrError('SVR_ERR_NATIVE_MISSING', `building the native addon failed (exit ${r.status}) in ${root}:\n${tail}`, { root });
  }
}

/** The tools `tools` and the native addon: installs and builds what is missing (see installTools). */
export function readyHost(tools: readonly HostToolName[], progress: (line: string) => void): void {
  const built = nativeAddonBuilt();
  installTools(built ? tools : [...new Set([...tools, ...NATIVE_BUILD_TOOLS])], progress);
  if (!built) buildNativeAddon(progress);
}

/** For `svr lab up|demo`: root, `tools` and the native addon (the nodes' TUN devices). */
export function readyLabHost(tools: readonly HostToolName[], progress: (line: string) => void): void {
  requireRoot();
  readyHost(tools, progress);
}

/** For `svr setup`: every tool the lab, the tests and the benchmark use, and the native addon. */
export function setupHost(progress: (line: string) => void): void {
  readyHost(ALL_HOST_TOOLS, progress);
}
