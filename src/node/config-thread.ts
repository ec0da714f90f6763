/**
 * Reads and validates a config file in a short-lived worker thread, so that a reload does not stop the node's
 * main thread (which runs the data path with `--workers 1`): YAML parsing and validation of a big authority take
 * seconds (10,000 services × 100 tenants: ~3 s on this project's machine, docs/performance.md "Config at
 * scale"). The validated config comes back by structured clone (plain data); a ConfigError comes back with its
 * code, message and problems and is thrown again here, so callers see what loadConfig would have thrown.
 *
 *   main: loadConfigInThread(path) -> Worker(this file, { path }) -> loadConfig(path) -> { config } | { error }
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ConfigError, type ConfigErrorData, SvrError } from '../errors.js';
import type { SvrConfig } from '../model/config.js';
import { loadConfig } from '../model/validate.js';

type ConfigCode = ConstructorParameters<typeof ConfigError>[0];
type Answer = { config: SvrConfig } | { error: { config: boolean; code?: string; message: string; data?: ConfigErrorData } };

/** loadConfig(path) in a worker thread: the same config, or the same ConfigError. */
export function loadConfigInThread(path: string): Promise<SvrConfig> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { svrLoadConfig: path } });
    let answered = false;
    worker.once('message', (a: Answer) => {
      answered = true;
      void worker.terminate();
      if ('config' in a) return resolve(a.config);
      const e = a.error;
      reject(e.config && e.data !== undefined ? new ConfigError(e.code as ConfigCode, e.message, e.data) : new SvrError('SVR_ERR_CONFIG_READ', e.message));
    });
    worker.once('error', (e) => reject(new SvrError('SVR_ERR_CONFIG_READ', `cannot read configuration ${path}: the thread reading it failed: ${e.message}`)));
    worker.once('exit', (code) => {
      if (!answered) reject(new SvrError('SVR_ERR_CONFIG_READ', `cannot read configuration ${path}: the thread reading it exited (${code}) without an answer`));
    });
  });
}

if (!isMainThread && parentPort !== null && typeof (workerData as { svrLoadConfig?: unknown } | null)?.svrLoadConfig === 'string') {
  const port = parentPort;
  loadConfig((workerData as { svrLoadConfig: string }).svrLoadConfig).then(
    (config) => port.postMessage({ config } satisfies Answer),
    (e: unknown) => port.postMessage({
      error: e instanceof ConfigError ? { config: true, code: e.code, message: e.message, data: e.data } : { config: false, message: e instanceof Error ? e.message : String(e) },
    } satisfies Answer),
  );
}
