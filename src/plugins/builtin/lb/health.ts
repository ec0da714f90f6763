/**
 * Health checks for builtin.lb, in the control part: every `interval`, a TCP connect (node:net) to each
 * target's check address; a failed or timed-out connect takes the target out, a successful one puts it
 * back. One probe per target at a time. Stops when the plugin's signal aborts (unload).
 */
import { connect, type Socket } from 'node:net';
import type { PluginLogger } from '../../api.js';
import type { LbOptions } from './options.js';
import type { LbState } from './state.js';

export function startHealthChecks(opts: LbOptions, state: LbState, log: PluginLogger, signal: AbortSignal): void {
  const sockets = new Set<Socket>();
  const timers: NodeJS.Timeout[] = [];
  let t0 = 0;
  for (const svc of opts.services) {
    const first = t0;
    t0 += svc.targets.length;
    if (svc.health === null) continue;
    const { intervalMs, timeoutMs } = svc.health;
    const round = (): void => {
      svc.targets.forEach((target, i) => {
        const t = first + i;
        if (state.probing[t] === 1 || target.check === null) return;
        state.probing[t] = 1;
        sockets.add(probe(target.check.host, target.check.port, timeoutMs, (ok, sock) => {
          sockets.delete(sock);
          state.probing[t] = 0;
          if (signal.aborted) return;
          if (state.setUp(t, ok)) log.info(ok ? 'target-up' : 'target-down', { target: target.label });
        }));
      });
    };
    round();
    const timer = setInterval(round, intervalMs);
    timer.unref();
    timers.push(timer);
  }
  signal.addEventListener('abort', () => {
    for (const t of timers) clearInterval(t);
    for (const s of sockets) s.destroy();
    sockets.clear();
  }, { once: true });
}

/** One TCP connect with a timeout; `done` runs once with the outcome, the socket is closed. */
function probe(host: string, port: number, timeoutMs: number, done: (ok: boolean, sock: Socket) => void): Socket {
  const sock = connect({ host, port });
  let settled = false;
  const finish = (ok: boolean): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    sock.destroy();
    done(ok, sock);
  };
  // a busy event loop runs timers before pending I/O: let a connect that already happened win
  const timer = setTimeout(() => setImmediate(() => finish(false)), timeoutMs);
  timer.unref();
  sock.once('connect', () => finish(true));
  sock.once('error', () => finish(false));
  sock.once('close', () => finish(false));
  return sock;
}
