/** GET /api/v1/rib, /api/v1/fib, /api/v1/bgp: the RIB, the service FIB and BGP from FRR (as `svr show rib|fib|bgp`, docs/routing.md). */
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { Ref, VrfQuery, errors } from '../schemas.js';
import { notFound } from './not-found.js';

export function registerRoutingRoutes(app: ApiApp, ctx: NodeApiContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  api.get('/api/v1/rib', {
    schema: { tags: ['routing'], summary: 'Static and learned routes with their distances, the selected ones marked (?vrf=: one VRF)', querystring: VrfQuery, response: { 200: Ref('Rib'), ...errors(400, 401, 404) } },
  }, async (req) => ctx.routing.rib(knownVrf(ctx, req.query.vrf)));
  api.get('/api/v1/fib', {
    schema: { tags: ['routing'], summary: 'The service FIB: prefix, protocol, ports, tenants, service, next hops (?vrf=: learned next hops of one VRF)', querystring: VrfQuery, response: { 200: Ref('Fib'), ...errors(400, 401, 404) } },
  }, async (req) => ctx.routing.fib(knownVrf(ctx, req.query.vrf)));
  api.get('/api/v1/bgp', {
    schema: { tags: ['routing'], summary: "BGP neighbours and routes from FRR's bgpd, and the node's FRR and FPM state", response: { 200: Ref('Bgp'), ...errors(401, 404) } },
  }, async () => (await ctx.routing.bgp()) ?? notFound('routing', 'bgp', []));
}

/** `?vrf=`: a VRF of the router (404 naming them otherwise). */
function knownVrf(ctx: NodeApiContext, vrf: string | undefined): string | undefined {
  if (vrf === undefined) return undefined;
  const { vrfs } = ctx.routing.rib();
  return vrfs.includes(vrf) ? vrf : notFound('VRF', vrf, vrfs);
}
