/**
 * Generated config (ssr-reference §1.1 "Generated config semantics"): on every commit the conductor
 * writes each wan interface's adjacencies out from neighborhoods and topologies, marked
 * `generated: true`, replacing the ones it wrote before. An adjacency an operator wrote (generated
 * false) is kept, and none is generated for the same peer interface. The text keeps its comments and
 * layout (yaml Document edits); interfaces whose list would not change are not touched.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Adjacency, SvrConfig } from '../../model/config.js';
import { neighborhoodLinks } from '../../model/topology.js';
import { parseConfig } from '../../model/validate.js';
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
 */
export function withGeneratedConfig(text: string, source = 'candidate'): Generated {
  const config = parseConfig(text, source, { withoutGenerated: true });
  const doc = parseCandidate(text);
  let changed = false;
  const a = config.authority;
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
      if (isDeepStrictEqual(next, before)) return;
      const path = ['authority', 'routers', i, 'interfaces', j, 'adjacencies'];
      if (next.length === 0) doc.deleteIn(path);
      else doc.setIn(path, doc.createNode(next.map((x) => ({ peer: x.peer, interface: x.interface, neighborhood: x.neighborhood, generated: x.generated }))));
      changed = true;
    });
  });
  const out = changed ? doc.toString() : text;
  return { text: out, config: parseConfig(out, `${source} (with generated adjacencies)`) };
}
