/**
 * The fabric as a graph: routers on a circle (coloured by sync status), one line per peer path between
 * them (coloured by path class: good, fair, poor, down), labelled with its latency. Routers and paths are
 * links: to the router's page and to the path's charts; both are reachable with Tab.
 */
import { href } from '../route.js';
import { ms } from '../format.js';
import { linksOf, pathClass, statusClass, type RouterView } from '../fabric-data.js';

const W = 480;
const H = 300;
const R = 30;

export function FabricGraph({ routers }: { routers: RouterView[] }) {
  const links = linksOf(routers);
  const names = [...new Set([...routers.map((r) => r.name), ...links.flatMap((l) => [l.a, l.b])])].sort();
  const pos = new Map(names.map((n, i) => {
    if (names.length === 1) return [n, [W / 2, H / 2]] as const;
    if (names.length === 2) return [n, [i === 0 ? 70 : W - 70, H / 2]] as const;
    const a = (2 * Math.PI * i) / names.length - Math.PI / 2;
    return [n, [W / 2 + (W / 2 - 60) * Math.cos(a), H / 2 + (H / 2 - 45) * Math.sin(a)]] as const;
  }));
  const byName = new Map(routers.map((r) => [r.name, r]));
  return (
    <svg class="graph" viewBox={`0 0 ${W} ${H}`} role="group" aria-label="routers and the paths between them">
      {links.flatMap((l) => {
        const [x1, y1] = pos.get(l.a)!;
        const [x2, y2] = pos.get(l.b)!;
        const [dx, dy] = [x2 - x1, y2 - y1];
        const len = Math.hypot(dx, dy) || 1;
        const [nx, ny] = [-dy / len, dx / len];
        return l.paths.map((p, k) => {
          const bend = (k - (l.paths.length - 1) / 2) * 130;
          const [cx, cy] = [(x1 + x2) / 2 + nx * bend, (y1 + y2) / 2 + ny * bend];
          const cls = pathClass(p);
          const label = `${p.from} to ${p.to}, path ${p.name}: ${p.up ? 'up' : 'down'}, latency ${ms(p.latencyMs)}, loss ${p.lossPercent?.toFixed(2) ?? '–'} %, MOS ${p.mos?.toFixed(2) ?? '–'}`;
          // the label sits on the curve's midpoint: 1/4 start + 1/2 control + 1/4 end
          const [mx, my] = [(x1 + 2 * cx + x2) / 4, (y1 + 2 * cy + y2) / 4];
          return (
            <a href={href(['paths'], { router: p.from, peer: p.to, path: p.name })} aria-label={label} class={`edge ${cls}`} data-path={`${p.from}/${p.to}/${p.name}`} data-state={cls}>
              <title>{label}</title>
              <path d={`M${x1},${y1} Q${cx},${cy} ${x2},${y2}`} />
              <text x={mx} y={my - 6} text-anchor="middle">{p.up ? ms(p.latencyMs) : 'down'}</text>
              <text x={mx} y={my + 12} text-anchor="middle" class="small">{p.name}</text>
            </a>
          );
        });
      })}
      {names.map((n) => {
        const [x, y] = pos.get(n)!;
        const r = byName.get(n);
        const cls = r === undefined ? 'unmanaged' : statusClass(r.status);
        const label = r === undefined ? `peer ${n}` : `router ${n}: ${r.status}${r.alarms > 0 ? `, ${r.alarms} alarm${r.alarms === 1 ? '' : 's'}` : ''}`;
        const body = (
          <>
            <title>{label}</title>
            <circle cx={x} cy={y} r={R} />
            <text x={x} y={y + 5} text-anchor="middle">{n}</text>
            {r !== undefined && r.alarms > 0 && <text x={x} y={y - R - 8} text-anchor="middle" class="badge">{r.alarms} alarm{r.alarms === 1 ? '' : 's'}</text>}
          </>
        );
        return r === undefined
          ? <g class={`node ${cls}`} aria-label={label}>{body}</g>
          : <a href={href(['routers', n])} class={`node ${cls}`} aria-label={label} data-router={n} data-status={r.status}>{body}</a>;
      })}
    </svg>
  );
}
