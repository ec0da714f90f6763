/** A forwarding mode of the benchmark: set up on the shared topology, measured, torn down. */
import type { Proc } from '../exec.js';
import type { ModeTerms } from '../terms.js';

export interface ModeContext {
  /** this run's scratch directory (configs, logs, keys) */
  dir: string;
  progress: (line: string) => void;
  /** the C ping, session client and echo (udp-load.ts); undefined: the Node tools */
  udpLoad?: string;
}

export interface Mode {
  /** short id used by --only and in results.json */
  readonly id: string;
  readonly label: string;
  /** UDP payload used for the "1400 B" test (wireguard-go: 1372, as in the anchors, to avoid fragmentation) */
  readonly udpLarge: number;
  /** honest notes about this mode's run (what was enforced, what was skipped) */
  readonly notes: string[];
  /** the terms it ran on (devices, offloads, buffers, polling), filled in by setup */
  terms?: ModeTerms;
  setup(ctx: ModeContext): Promise<void>;
  teardown(ctx: ModeContext): Promise<void>;
  /** the router processes whose CPU is charged to the mode ([] for kernel forwarding) */
  routerProcs(): Proc[];
  /** what the mode's own tools say when no echo came back (a tunnel's handshake and transfer) */
  diagnose?(): Promise<string>;
}

/** Thrown by setup when a mode cannot run here (its result records the reason instead of figures). */
export class ModeSkipped extends Error {}
