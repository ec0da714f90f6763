/** GET /api/v1/peers[/:name]: peers with their paths (liveness, BFD state, quality, sessions); GET /api/v1/security: their keys. */
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
  api.get('/api/v1/security', {
    schema: { tags: ['peers'], summary: 'Key status of each peer path: key ids, ages, packets under the key, next rekey, refused handshakes', response: { 200: Ref('Security'), ...errors(401) } },
  }, async () => ctx.router.security());
}
