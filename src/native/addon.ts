/**
 * svrouter's N-API addon (binding.gyp target `svr_native`, built by `node-gyp rebuild`, which npm runs on
 * `npm ci`): where it is and one loader for its users (TUN devices in io/tun, checksums in packet, batch
 * crypto in crypto). Each user checks for its own functions. The package root is found by walking up from
 * this file to the first package.json, so the same code works from `src/` and from `dist/src/`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SvrError } from '../errors.js';

export const NATIVE_ADDON_RELATIVE_PATH = join('build', 'Release', 'svr_native.node');

/** The first directory at or above `from` that holds a package.json. */
export function findPackageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new SvrError('SVR_ERR_NATIVE_MISSING', `no package.json found above ${from}: cannot locate ${NATIVE_ADDON_RELATIVE_PATH}`);
    }
    dir = parent;
  }
}

/** The addon's exports, as loaded; each user narrows them to the functions it needs. */
export type AddonExports = Readonly<Record<string, unknown>>;

const cache = new Map<string, AddonExports | SvrError>();

/**
 * Loads `<root>/build/Release/svr_native.node` once per root: its exports, or the SvrError
 * (SVR_ERR_NATIVE_MISSING) that says why not and how to fix it (not built, does not load).
 */
export function tryLoadAddon(root?: string): AddonExports | SvrError {
  let r: string;
  try {
    r = root ?? findPackageRoot();
  } catch (e) {
    return e instanceof SvrError ? e : new SvrError('SVR_ERR_NATIVE_MISSING', String(e));
  }
  let hit = cache.get(r);
  if (hit === undefined) {
    hit = load(r);
    cache.set(r, hit);
  }
  return hit;
}

function load(root: string): AddonExports | SvrError {
  const file = join(root, NATIVE_ADDON_RELATIVE_PATH);
  if (!existsSync(file)) {
    return new SvrError('SVR_ERR_NATIVE_MISSING', `the native addon ${file} is not built: run \`npx svr setup\` in ${root} (as root: installs the C toolchain with apt-get and builds it), or npm run build:native`, { file });
  }
  try {
    return createRequire(import.meta.url)(file) as AddonExports;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return new SvrError('SVR_ERR_NATIVE_MISSING', `the native addon ${file} does not load (${why}): rebuild it with npm ci / npm run build:native`, { file, cause: e });
  }
}
