/**
 * The node's management API: the shared HTTP foundation (http/) with the node's schemas and one route
 * module per resource (routes/). `svr node start` builds it when the router has a `management` block and
 * listens on its address; the routes only call the node's context (context.ts).
 *
 * Routes (all JSON but /metrics; a bearer token unless marked public, admin where marked):
 *   GET  /api/v1/health (public)          GET /api/v1/sessions?limit&cursor&tenant&service
 *   GET  /api/v1/sessions/history?since&until&tenant&service&application&source&destination&port&sourcePort
 *        &router&path&reason&denied&live&order&limit&cursor          GET /api/v1/sessions/history/:id
 *   GET  /api/v1/explain?source&destination&protocol&port&sourcePort&interface
 *   GET  /api/v1/explain/session/:id
 *   GET  /api/v1/peers[/:name]            GET /api/v1/services[/:name]      GET /api/v1/tenants[/:name]
 *   GET  /api/v1/security
 *   GET  /api/v1/stats                    GET /api/v1/alarms                GET /api/v1/events?since&after&limit
 *   GET  /api/v1/config                   POST /api/v1/config/reload (admin)
 *   GET  /api/v1/plugins                  GET /metrics (public with metrics-auth: none)
 *   GET  /api/v1/rib                      GET /api/v1/fib                   GET /api/v1/bgp (404 without routing)
 *   GET  /api/v1/openapi.json, /documentation (public: the API's description)
 */
import { createApiApp, type ApiApp } from './http/app.js';
import type { Authenticator } from './http/auth.js';
import type { NodeApiContext } from './context.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { registerAlarmRoutes } from './routes/alarms.js';
import { registerConfigRoutes } from './routes/config.js';
import { registerEventRoutes } from './routes/events.js';
import { registerExplainRoutes } from './routes/explain.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerHistoryRoutes } from './routes/history.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { registerPeerRoutes } from './routes/peers.js';
import { registerPluginRoutes } from './routes/plugins.js';
import { registerServiceRoutes } from './routes/services.js';
import { registerSessionRoutes } from './routes/sessions.js';
import { registerStatsRoutes } from './routes/stats.js';
import { registerTenantRoutes } from './routes/tenants.js';
import { registerRoutingRoutes } from './routes/routing.js';

/** One function per resource; a new resource adds its module here. */
export const NODE_ROUTES: readonly ((app: ApiApp, ctx: NodeApiContext) => void)[] = [
  registerHealthRoutes, registerSessionRoutes, registerHistoryRoutes, registerExplainRoutes, registerPeerRoutes, registerServiceRoutes, registerTenantRoutes,
  registerStatsRoutes, registerAlarmRoutes, registerEventRoutes, registerConfigRoutes, registerPluginRoutes, registerMetricsRoutes, registerRoutingRoutes,
];

export interface NodeApiOptions {
  auth: Authenticator;
  tls?: { key: string | Buffer; cert: string | Buffer };
  log?: (event: string, fields: Record<string, string | number | boolean>) => void;
}

export async function buildNodeApi(ctx: NodeApiContext, o: NodeApiOptions): Promise<ApiApp> {
  const app = await createApiApp({
    title: `svrouter node ${ctx.node.name}`, version: ctx.node.version,
    description: "A router's state (sessions live and recorded, peers and paths, services, tenants, counters, alarms, events, config, plugins), svr explain, and Prometheus metrics.",
    // a node without session history answers its routes 503 (it may be turned on by a config change)
    statusOf: { SVR_ERR_HISTORY_STORE: 503 },
    auth: o.auth, ...(o.tls !== undefined ? { tls: o.tls } : {}), ...(o.log !== undefined ? { log: o.log } : {}),
  });
  for (const s of SHARED_SCHEMAS) app.addSchema(s);
  for (const register of NODE_ROUTES) register(app, ctx);
  return app;
}
