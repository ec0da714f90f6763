/**
 * What builtin.lb's control part (health checks) and data-path part (target choice) share: per target,
 * healthy or not. One state per load (`perLoad`: keyed by the options object both parts receive).
 */
import { perLoad } from '../shared/per-load.js';
import type { LbOptions } from './options.js';

export class LbState {
  /** per target (all services, in option order): 1 healthy, 0 taken out by its health check */
  readonly up: Uint8Array;
  /** per target: 1 while a health probe is in flight */
  readonly probing: Uint8Array;
  /** the data-path part counts transitions here */
  onChange: ((target: number, up: boolean) => void) | null = null;

  constructor(targets: number) {
    this.up = new Uint8Array(targets).fill(1);
    this.probing = new Uint8Array(targets);
  }

  /** Records a health result; true when it changed the target's state. */
  setUp(t: number, up: boolean): boolean {
    const v = up ? 1 : 0;
    if (this.up[t] === v) return false;
    this.up[t] = v;
    this.onChange?.(t, up);
    return true;
  }
}

export function lbState(opts: LbOptions): LbState {
  return perLoad(opts, () => new LbState(opts.services.reduce((n, svc) => n + svc.targets.length, 0)));
}
