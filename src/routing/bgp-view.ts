/**
 * `svr show bgp`: bgpd's own JSON (`show bgp neighbors json`, `show bgp ipv4|ipv6 unicast json`, `show bfd
 * peers json`), read into a small typed view. Fields FRR leaves out stay out; text is never scraped.
 */

export interface BgpNeighborView {
  address: string;
  remoteAs: number;
  /** Idle, Connect, Active, OpenSent, OpenConfirm, Established */
  state: string;
  /** time in the current state, as FRR writes it */
  upOrDownFor?: string;
  prefixesReceived?: number;
  prefixesSent?: number;
  lastReset?: string;
  /** BFD session state when BFD is on for this neighbour */
  bfd?: string;
}

export interface BgpRouteView {
  prefix: string;
  nextHop: string;
  asPath: string;
  best: boolean;
  /** true when this router originated it (redistribute service) */
  local: boolean;
}

export interface BgpView {
  neighbors: BgpNeighborView[];
  routes: BgpRouteView[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Asks bgpd (through `run`, one vtysh command) and builds the view. */
export async function bgpView(run: (command: string) => Promise<string>): Promise<BgpView> {
  const neighbors = obj(JSON.parse(await run('show bgp neighbors json')));
  const bfd = await run('show bfd peers json').then((t) => JSON.parse(t) as unknown, () => []);
  const bfdState = new Map<string, string>();
  if (Array.isArray(bfd)) for (const p of bfd) if (str(obj(p)['peer']) !== undefined) bfdState.set(str(obj(p)['peer'])!, str(obj(p)['status']) ?? '?');
  const routes: BgpRouteView[] = [];
  for (const af of ['ipv4', 'ipv6']) {
    routes.push(...routesOf(obj(JSON.parse(await run(`show bgp ${af} unicast json`)))));
  }
  return { neighbors: Object.entries(neighbors).map(([address, v]) => neighborOf(address, obj(v), bfdState.get(address))), routes };
}

export function neighborOf(address: string, n: Json, bfd: string | undefined): BgpNeighborView {
  const afs = Object.values(obj(n['addressFamilyInfo'])).map(obj);
  const sum = (key: string): number | undefined => afs.reduce<number | undefined>((acc, af) => (num(af[key]) === undefined ? acc : (acc ?? 0) + num(af[key])!), undefined);
  const view: BgpNeighborView = { address, remoteAs: num(n['remoteAs']) ?? 0, state: str(n['bgpState']) ?? 'unknown' };
  const time = str(n['bgpTimerUpString']) ?? str(n['lastResetTimerMsecs'] === undefined ? undefined : `${Math.round(num(n['lastResetTimerMsecs'])! / 1000)}s`);
  if (time !== undefined) view.upOrDownFor = time;
  const received = sum('acceptedPrefixCounter');
  if (received !== undefined) view.prefixesReceived = received;
  const sent = sum('sentPrefixCounter');
  if (sent !== undefined) view.prefixesSent = sent;
  const reset = str(n['lastResetDueTo']);
  if (reset !== undefined) view.lastReset = reset;
  if (bfd !== undefined) view.bfd = bfd;
  return view;
}

export function routesOf(table: Json): BgpRouteView[] {
  const out: BgpRouteView[] = [];
  for (const [prefix, paths] of Object.entries(obj(table['routes']))) {
    if (!Array.isArray(paths)) continue;
    for (const p of paths.map(obj)) {
      const hops = Array.isArray(p['nexthops']) ? p['nexthops'].map(obj) : [];
      const nextHop = str(hops[0]?.['ip']) ?? '-';
      out.push({ prefix, nextHop, asPath: str(p['path']) ?? '', best: p['bestpath'] === true, local: nextHop === '0.0.0.0' || nextHop === '::' });
    }
  }
  return out;
}
