/** GET /api/v1/alarms: the active alarms, oldest first. */
import { Type } from '@sinclair/typebox';
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { Ref, errors } from '../schemas.js';

export function registerAlarmRoutes(app: ApiApp, ctx: NodeApiContext): void {
  app.withTypeProvider<TypeBoxProvider>().get('/api/v1/alarms', {
    schema: { tags: ['alarms'], summary: 'Active alarms, oldest first', response: { 200: Type.Array(Ref('Alarm')), ...errors(401) } },
  }, async () => ctx.alarms.active());
}
