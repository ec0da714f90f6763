/**
 * The authority of the hub case (hub.ts): one hub router with two wan interfaces, `spokes` spoke routers with
 * two wan interfaces each; neighborhood `hub-a` joins every spoke's wan0 to the hub's wan0, `hub-b` every
 * wan1 to the hub's wan1 (topology hub/spoke: spokes do not peer with each other). So the hub has
 * 2 x spokes peer paths, each a distinct 5-tuple (hub waypoint:1280 <-> spoke waypoint:1280). Every timer is
 * the default (docs/paths.md: BFD 1000/500 ms x 3, link tests 10 every 10 s, hold-down 5 s).
 *
 * Addresses (inside 198.18.0.0/15): hub waypoints 198.18.251.1 (wan0) and .2 (wan1); spoke i's wan0
 * 198.19.0.0 + 1 + i, its wan1 198.19.32.0 + 1 + i (up to 8,190 spokes).
 */
export const HUB_NAME = 'hub';
export const HUB_WAYPOINTS = ['198.18.251.1', '198.18.251.2'] as const;
const SPOKE_BASES = [0xc6130000, 0xc6132000] as const; // 198.19.0.0, 198.19.32.0
export const MAX_SPOKES = 0x1ffe;
/** the spokes' addresses, routed from the hub's namespace */
export const SPOKE_NET = '198.19.0.0/16';

const dotted = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** Spoke i's router name (sorted like its index). */
export function spokeName(i: number): string {
  return `spoke-${String(i + 1).padStart(4, '0')}`;
}

/** Spoke i's waypoint on wan interface `w` (0 or 1). */
export function spokeWaypoint(i: number, w: 0 | 1): string {
  return dotted(SPOKE_BASES[w] + 1 + i);
}

/** The YAML of the hub and `spokes` spokes (a fresh secret each run). */
export function hubConfigYaml(spokes: number, secret: string): string {
  if (!Number.isInteger(spokes) || spokes < 1 || spokes > MAX_SPOKES) throw new Error(`hub case: ${spokes} spokes (1-${MAX_SPOKES})`);
  const wan = (name: string, waypoint: string, neighborhood: string, topology: 'hub' | 'spoke'): string =>
    `        - { name: ${name}, kind: wan, mtu: 1500, waypoint: ${waypoint}, neighborhoods: [{ name: ${neighborhood}, topology: ${topology} }] }\n`;
  const lines = [`# written by bench/hub-config.ts (npm run bench, the hub case): one hub, ${spokes} spokes, 2 paths each
authority:
  name: bench-hub
  secret: ${secret}
  routers:
    - name: ${HUB_NAME}
      interfaces:
${wan('wan0', HUB_WAYPOINTS[0], 'hub-a', 'hub')}${wan('wan1', HUB_WAYPOINTS[1], 'hub-b', 'hub')}`];
  for (let i = 0; i < spokes; i++) {
    lines.push(`    - name: ${spokeName(i)}
      interfaces:
${wan('wan0', spokeWaypoint(i, 0), 'hub-a', 'spoke')}${wan('wan1', spokeWaypoint(i, 1), 'hub-b', 'spoke')}`);
  }
  return lines.join('');
}
