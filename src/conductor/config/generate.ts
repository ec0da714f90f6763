/**
 * Generated config (ssr-reference §1.1 "Generated config semantics"): on every commit the conductor
 * writes each wan interface's adjacencies out from neighborhoods and topologies, marked
 * `generated: true`, replacing the ones it wrote before. An adjacency an operator wrote (generated
 * false) is kept, and none is generated for the same peer interface. The text keeps its comments and
 * layout (yaml Document edits); interfaces whose list would not change are not touched.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Adjacency, Interface, SvrConfig } from '../../model/config.js';
import { neighborhoodLinks } from '../../model/topology.js';
import { parseConfig, resolveConfig } from '../../model/validate.js';
import type { Document } from 'yaml';
import { parseCandidate } from './edit.js';

/** The adjacencies of routers[i].interfaces[j] as the text has them (generated ones included). */
function adjacenciesIn(doc: Document, i: number, j: number): unknown {
  const node = doc.getIn(['authority', 'routers', i, 'interfaces', j, 'adjacencies'], true) as { toJSON(): unknown } | undefined;
  const list = node?.toJSON();
  if (!Array.isArray(list)) return [];
  return list.map((x: Record<string, unknown>) => ({ peer: x['peer'], interface: x['interface'], neighborhood: x['neighborhood'], generated: x['generated'] ?? false }));
}

export interface Generated {
  text: string;
  config: SvrConfig;
}

/**
 * Validates `text` as if its generated adjacencies were gone (field paths and lines of `text`),
 * regenerates them, validates the result. Throws SvrError CONFIG_*.
 * The result is validated as the config object it is (resolveConfig), not by parsing the new text
 * again: a third YAML parse of a 1,000-router authority cost ~0.5 s of every commit.
 */
export function withGeneratedConfig(text: string, source = 'candidate'): Generated {
  const config = parseConfig(text, source, { withoutGenerated: true });
  const doc = parseCandidate(text);
  let changed = false;
  const a = config.authority;
  const adjacencies = new Map<Interface, Adjacency[]>();
  a.routers.forEach((router, i) => {
    const links = neighborhoodLinks(a, router);
    router.interfaces.forEach((iface, j) => {
      if (iface.kind !== 'wan') return;
      const kept = iface.adjacencies ?? [];
      const before = adjacenciesIn(doc, i, j);
      const generated: Adjacency[] = links
        .filter((l) => l.local === iface && !kept.some((k) => k.peer === l.peer.name && k.interface === l.remote.name))
        .map((l) => ({ peer: l.peer.name, interface: l.remote.name, neighborhood: l.neighborhood, generated: true }));
      const next = [...kept, ...generated];
      adjacencies.set(iface, next);
      if (isDeepStrictEqual(next, before)) return;
      const path = ['authority', 'routers', i, 'interfaces', j, 'adjacencies'];
      if (next.length === 0) doc.deleteIn(path);
      else doc.setIn(path, doc.createNode(next.map((x) => ({ peer: x.peer, interface: x.interface, neighborhood: x.neighborhood, generated: x.generated }))));
      changed = true;
    });
  });
  // the same config as the new text: the parsed one (without generated adjacencies) with the new lists
  const routers = a.routers.map((r) => ({ ...r, interfaces: r.interfaces.map((iface) => {
    const next = adjacencies.get(iface);
    if (next === undefined) return iface;
    const { adjacencies: _old, ...rest } = iface;
    return next.length === 0 ? rest : { ...rest, adjacencies: next };
  }) }));
  return { text: changed ? doc.toString() : text, config: resolveConfig({ authority: { ...a, routers } }, `${source} (with generated adjacencies)`) };
}
