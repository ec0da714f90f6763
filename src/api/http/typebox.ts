/**
 * TypeBox as fastify's type provider: a route's TypeBox schemas give its handler typed `query`, `params`,
 * `body` and reply, and the same schemas validate requests and build the OpenAPI document.
 *
 * @example
 *   app.withTypeProvider<TypeBoxProvider>().get('/api/v1/things', { schema: { querystring: Type.Object({ limit: Type.Integer() }) } },
 *     async (req) => things(req.query.limit));
 */
import type { FastifyTypeProvider } from 'fastify';
import type { Static, TSchema } from '@sinclair/typebox';

export interface TypeBoxProvider extends FastifyTypeProvider {
  validator: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
  serializer: this['schema'] extends TSchema ? Static<this['schema']> : unknown;
}
