/**
 * Every API error is a coded JSON body `{ code, message, data? }` (schema `Error`), with an HTTP status
 * chosen by its code: unknown routes 404, bad parameters 400 naming the parameter (`data.parameter`,
 * `data.in`), no or unknown token 401, a token of the wrong role 403, a busy node 503. An app adds its own
 * codes' statuses (`statusOf`); codes without one are 500 and logged.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { isSvrError, type ErrorCode } from '../../errors.js';

export const ErrorBody = Type.Object({
  code: Type.String({ description: 'SVR_ERR_<AREA>_<WHAT>' }),
  message: Type.String({ description: 'what went wrong, where, and how to fix it' }),
  data: Type.Optional(Type.Unknown({ description: 'structured detail, e.g. { parameter, in } for a bad parameter' })),
}, { $id: 'Error', description: 'A coded error' });
export type ErrorBody = Static<typeof ErrorBody>;

/** The statuses of the API's own codes and of the config codes every app may meet. */
const BASE_STATUS: Partial<Record<ErrorCode, number>> = {
  SVR_ERR_API_REQUEST: 400,
  SVR_ERR_API_AUTH: 401,
  SVR_ERR_API_FORBIDDEN: 403,
  SVR_ERR_API_NOT_FOUND: 404,
  SVR_ERR_API_BUSY: 503,
  SVR_ERR_CONFIG_PARSE: 400,
  SVR_ERR_CONFIG_READ: 422,
  SVR_ERR_CONFIG_INVALID: 422,
  SVR_ERR_CONFIG_ROUTER: 422,
  SVR_ERR_IDENTITY_KEY: 422,
  SVR_ERR_PLUGIN_FAIL_CLOSED: 422,
};

interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** The parameter a schema validation error is about (`limit`, `name`, `body.port`). */
function parameterOf(issue: ValidationIssue): string {
  const path = issue.instancePath.split('/').filter((s) => s !== '').join('.');
  const extra = issue.params['additionalProperty'] ?? issue.params['missingProperty'];
  if (typeof extra === 'string') return path === '' ? extra : `${path}.${extra}`;
  return path === '' ? '(whole)' : path;
}

const PLACES: Record<string, string> = { querystring: 'query parameter', params: 'path parameter', body: 'body field', headers: 'header' };

function validationBody(e: FastifyError): ErrorBody {
  const issue = (e.validation as ValidationIssue[])[0]!;
  const where = e.validationContext ?? 'request';
  const parameter = parameterOf(issue);
  const what = issue.keyword === 'additionalProperties' ? `is not known here${e.validationContext === 'querystring' ? ' (see the route in /api/v1/openapi.json)' : ''}`
    : issue.keyword === 'required' ? 'is required'
    : (issue.message ?? 'is not valid');
  return { code: 'SVR_ERR_API_REQUEST', message: `${PLACES[where] ?? where} "${parameter}" ${what}`, data: { parameter, in: where } };
}

/** The router's bound on a path parameter (fastify's maxParamLength): above every parameter schema's maxLength. */
export const MAX_PARAM_LENGTH = 256;

/** fastify's router errors (a path parameter over MAX_PARAM_LENGTH, a bad %-escape in the path) as coded 400s. */
export function routerError(error: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const what = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? `has a path parameter longer than ${MAX_PARAM_LENGTH} characters` : 'is not a valid URL path (a bad %-escape)';
  void reply.status(400).send({ code: 'SVR_ERR_API_REQUEST', message: `the request's path ${what}; the routes are listed in /api/v1/openapi.json`, data: { in: 'params', fastify: error.code } });
}

/** Installs the coded error handler and the 404 handler on `app`. */
export function addErrorMapping(app: FastifyInstance, statusOf: Partial<Record<ErrorCode, number>>, log: (event: string, fields: Record<string, string | number | boolean>) => void): void {
  const status = { ...BASE_STATUS, ...statusOf };
  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0]!;
    return reply.status(404).send({ code: 'SVR_ERR_API_NOT_FOUND', message: `no route ${req.method} ${path}; the routes are listed in /api/v1/openapi.json and on /documentation` });
  });
  app.setErrorHandler((error: unknown, req: FastifyRequest, reply: FastifyReply) => {
    if (isSvrError(error)) {
      const body: ErrorBody = { code: error.code, message: error.message };
      if (error.data !== undefined) body.data = error.data;
      const code = status[error.code];
      if (code === undefined) log('api.error', { route: `${req.method} ${req.url.split('?')[0]}`, code: error.code, error: error.message });
      if (code === 503) void reply.header('Retry-After', '1');
      return reply.status(code ?? 500).send(body);
    }
    const e = error as FastifyError;
    if (e.validation !== undefined) return reply.status(400).send(validationBody(e));
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.status(e.statusCode).send({ code: 'SVR_ERR_API_REQUEST', message: e.message, data: { fastify: e.code } });
    }
    log('api.error', { route: `${req.method} ${req.url.split('?')[0]}`, error: e.message ?? String(error) });
    return reply.status(500).send({ code: 'SVR_ERR_API_INTERNAL', message: `internal error: ${e.message ?? String(error)}` });
  });
}
