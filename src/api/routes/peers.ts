/** GET /api/v1/peers[/:name]: peers with their paths (liveness, BFD state, quality, sessions). */
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { NameParams, Ref, errors } from '../schemas.js';
import { Type } from '@sinclair/typebox';
import { notFound } from './not-found.js';

export function registerPeerRoutes(app: ApiApp, ctx: NodeApiContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  api.get('/api/v1/peers', {
    schema: { tags: ['peers'], summary: 'Peers and their paths', response: { 200: Type.Array(Ref('Peer')), ...errors(401) } },
  }, async () => ctx.router.peers());
  api.get('/api/v1/peers/:name', {
    schema: { tags: ['peers'], summary: 'One peer and its paths', params: NameParams, response: { 200: Ref('Peer'), ...errors(400, 401, 404) } },
  }, async (req) => {
    const peers = ctx.router.peers();
    return peers.find((p) => p.name === req.params.name) ?? notFound('peer', req.params.name, peers.map((p) => p.name));
  });
}
