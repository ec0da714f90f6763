/**
 * Reads and validates a config file in a short-lived worker thread, so that a reload does not stop the node's
 * main thread (which runs the data path with `--workers 1`): YAML parsing and validation of a big authority take
 * most of a second when valid, seconds with problems (10,000 services × 100 tenants: ~0.6-0.9 s of CPU, ~6 s
 * with the positional parse; docs/performance.md "Config at scale"). Given a router name, the thread also builds that router's biggest lookup tables (access table and
 * service FIB: prepareTables), which come back as typed arrays over SharedArrayBuffers for compileRouter (and
 * the data-path workers: shared, not copied). The validated
 * config comes back in slices over SharedArrayBuffers (util/sliced-clone.ts) that this thread rebuilds one per
 * turn of its event loop, so that batches go on between them; the same slices ride in `prepared.config` to the
 * data-path workers (--workers N), which rebuild it the same way. A ConfigError comes back with its code,
 * message and problems and is thrown again here, so callers see what loadConfig would have thrown.
 *
 *   main: loadConfigInThread(path, router) -> Worker(this file, { path, router }) -> loadConfig(path),
 *         prepareTables(config, router) -> { config slices, prepared } | { error } -> unslice between batches
 */
import { setImmediate as turn } from 'node:timers/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ConfigError, type ConfigErrorData, SvrError } from '../errors.js';
import { prepareTables, type LoadedConfig, type PreparedTables } from '../model/compile.js';
import type { SvrConfig } from '../model/config.js';
import { loadConfig } from '../model/validate.js';
import { sliceValue, unsliceValue, type SlicedValue } from '../util/sliced-clone.js';

type ConfigCode = ConstructorParameters<typeof ConfigError>[0];
type Answer = { config: SlicedValue; prepared?: PreparedTables } | { error: { config: boolean; code?: string; message: string; data?: ConfigErrorData } };

/** loadConfig(path) in a worker thread: the same config, or the same ConfigError. */
export async function loadConfigInThread(path: string): Promise<SvrConfig> {
  return (await prepareConfigInThread(path)).config;
}

/**
 * loadConfig(path) in a worker thread, and for `router` its access table and service FIB (prepareTables).
 * `answered`: called when the thread's answer arrives, before the config is rebuilt here (bench/config-scale.ts
 * tells the gaps of the thread's work from those of the rebuild).
 */
export function prepareConfigInThread(path: string, router?: string, answered?: () => void): Promise<LoadedConfig> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { svrLoadConfig: path, router } });
    let done = false;
    worker.once('message', (a: Answer) => {
      done = true;
      answered?.();
      void worker.terminate();
      if ('config' in a) {
        const prepared = a.prepared;
        return void unsliceValue(a.config, () => turn()).then((config) => resolve({ config: config as SvrConfig, ...(prepared !== undefined ? { prepared } : {}) }), reject);
      }
      const e = a.error;
      reject(e.config && e.data !== undefined ? new ConfigError(e.code as ConfigCode, e.message, e.data) : new SvrError('SVR_ERR_CONFIG_READ', e.message));
    });
    worker.once('error', (e) => reject(new SvrError('SVR_ERR_CONFIG_READ', `cannot read configuration ${path}: the thread reading it failed: ${e.message}`)));
    worker.once('exit', (code) => {
      if (!done) reject(new SvrError('SVR_ERR_CONFIG_READ', `cannot read configuration ${path}: the thread reading it exited (${code}) without an answer`));
    });
  });
}

type IntArray = Uint8Array | Int32Array;

/**
 * `parts` with every typed array copied into a SharedArrayBuffer: the node's thread gets them without a copy,
 * and so does each data-path worker it hands them to (--workers N: worker-host.ts).
 */
function shared<T extends object>(parts: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parts)) {
    if (v instanceof Uint8Array || v instanceof Int32Array) {
      const a = v as IntArray;
      const copy = new (a.constructor as new (b: SharedArrayBuffer) => IntArray)(new SharedArrayBuffer(a.byteLength));
      copy.set(a);
      out[k] = copy;
    } else out[k] = typeof v === 'object' && v !== null ? shared(v as object) : v;
  }
  return out as T;
}

/** prepareTables when the router is in the config; a config it cannot compile is left to compileRouter to refuse. */
function prepare(config: SvrConfig, router: string | undefined): PreparedTables | undefined {
  if (router === undefined || !config.authority.routers.some((r) => r.name === router)) return undefined;
  try {
    return shared(prepareTables(config, router));
  } catch {
    return undefined;
  }
}

if (!isMainThread && parentPort !== null && typeof (workerData as { svrLoadConfig?: unknown } | null)?.svrLoadConfig === 'string') {
  const port = parentPort;
  const { svrLoadConfig: path, router } = workerData as { svrLoadConfig: string; router?: string };
  loadConfig(path).then(
    (config) => {
      const prepared = prepare(config, router);
      const { sliced } = sliceValue(config, 100, true);
      port.postMessage({ config: sliced, ...(prepared !== undefined ? { prepared: { ...prepared, config: sliced } } : {}) } satisfies Answer);
    },
    (e: unknown) => port.postMessage({
      error: e instanceof ConfigError ? { config: true, code: e.code, message: e.message, data: e.data } : { config: false, message: e instanceof Error ? e.message : String(e) },
    } satisfies Answer),
  );
}
