/** Plain kernel forwarding: r1 routes the server LAN via r2 and r2 the client LAN via r1. */
import { ipn } from '../exec.js';
import { release } from 'node:os';
import { deviceTerms, offloadTerms, type ModeTerms } from '../terms.js';
import { CLIENT_NET, DEV, NS, R1_WAN, R2_WAN, SERVER_NET } from '../topology.js';
import type { Mode } from './mode.js';

export class KernelMode implements Mode {
  readonly id = 'kernel';
  readonly label = 'kernel forwarding';
  readonly udpLarge = 1400;
  readonly notes: string[] = ['CPU per Gbps: n/a (forwarding runs in softirq, not attributable to a process)'];
  terms?: ModeTerms;

  async setup(): Promise<void> {
    await ipn(NS.r1, ['route', 'add', SERVER_NET, 'via', R2_WAN]);
    await ipn(NS.r2, ['route', 'add', CLIENT_NET, 'via', R1_WAN]);
    const veths = [DEV.r1Lan, DEV.r1Wan];
    this.terms = {
      build: `Linux ${release()} (ip_forward)`, devices: `${await deviceTerms(NS.r1, veths)} (the veths only)`,
      offloads: await offloadTerms(NS.r1, veths), socketBuffers: 'n/a (no sockets)', polling: 'none',
    };
  }

  async teardown(): Promise<void> {
    await ipn(NS.r1, ['route', 'del', SERVER_NET]).catch(() => undefined);
    await ipn(NS.r2, ['route', 'del', CLIENT_NET]).catch(() => undefined);
  }

  routerProcs() {
    return [];
  }
}
