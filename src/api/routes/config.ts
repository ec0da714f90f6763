/** GET /api/v1/config (secrets redacted); POST /api/v1/config/reload (admin: re-read the config file). */
import type { ApiApp } from '../http/app.js';
import { principalOf } from '../http/auth.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { Ref, errors } from '../schemas.js';

export function registerConfigRoutes(app: ApiApp, ctx: NodeApiContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  api.get('/api/v1/config', {
    schema: { tags: ['config'], summary: 'The running config (secrets and tokens redacted)', response: { 200: Ref('Config'), ...errors(401) } },
  }, async () => ctx.config());
  api.post('/api/v1/config/reload', {
    config: { access: 'admin' },
    schema: {
      tags: ['config'], summary: 'Re-read the config file, as `svr node reload`; a bad file is refused (422, every bad field by path) and the running config stays',
      response: { 200: Ref('Reload'), ...errors(401, 403, 422) },
    },
  }, async (req) => ctx.reload(`api:${principalOf(req)?.name ?? '?'}`));
}
