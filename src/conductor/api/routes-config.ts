/** Config routes: the candidate (get, replace, set/delete a path, revert), validate, commit, rollback, versions, export, compare. */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { authorize, type ApiContext } from './app.js';
import {
  Candidate, CommitBody, CommitReply, CompareQuery, ConfigRefOf, ExportQuery, PatchCandidateBody, PutCandidateBody, RollbackBody,
  ValidateBody, ValidateReply, ValueQuery, VersionParams, VersionRecord, VersionSummary,
} from './schemas.js';

const errors = { 400: { $ref: 'Error#' }, 401: { $ref: 'Error#' }, 403: { $ref: 'Error#' }, 409: { $ref: 'Error#' }, 422: { $ref: 'Error#' } };

export function registerConfigRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const read = { preHandler: authorize(ctx) };
  const write = { preHandler: authorize(ctx, 'admin') };
  const user = (req: { principal?: { user: string } }) => req.principal?.user ?? '?';
  const life = ctx.lifecycle;

  app.get('/api/v1/config/candidate', { ...read, schema: { summary: 'The candidate config', response: { 200: Candidate, ...errors } } }, async () => life.candidate());

  app.put<{ Body: PutCandidateBody }>('/api/v1/config/candidate', {
    ...write, schema: { summary: 'Replace the candidate (edit, import); `revision` guards against overwriting edits made meanwhile', body: PutCandidateBody, response: { 200: Candidate, ...errors } },
  }, async (req) => life.replaceCandidate(req.body.text, user(req), 'config.candidate.replace', req.body.revision));

  app.patch<{ Body: PatchCandidateBody }>('/api/v1/config/candidate', {
    ...write, schema: { summary: 'Set or delete one field of the candidate by path (authority.services[web].addresses)', body: PatchCandidateBody, response: { 200: Candidate, ...errors } },
  }, async (req) => ('set' in req.body ? life.setPath(req.body.set, req.body.value, user(req)) : life.deletePath(req.body.delete, user(req))));

  app.post('/api/v1/config/candidate/revert', { ...write, schema: { summary: 'Discard candidate edits (the candidate becomes the running config)', response: { 200: Candidate, ...errors } } }, async (req) => life.revertCandidate(user(req)));

  app.post<{ Body: ValidateBody }>('/api/v1/config/validate', {
    ...read, schema: { summary: 'Validate the candidate (or the given text) as a commit would: field paths, then every router\'s slice', body: ValidateBody, response: { 200: ValidateReply, ...errors } },
  }, async (req) => life.validate(req.body?.text));

  app.post<{ Body: CommitBody }>('/api/v1/config/commit', {
    ...write, schema: { summary: 'Commit the candidate: every connected router prepares it, then all activate it, or none does', body: CommitBody, response: { 200: CommitReply, ...errors } },
  }, async (req) => life.commit(user(req), req.body.message, req.body.basedOn));

  app.post<{ Body: RollbackBody }>('/api/v1/config/rollback', {
    ...write, schema: { summary: 'Commit the config of a stored version as a new version', body: RollbackBody, response: { 200: CommitReply, ...errors } },
  }, async (req) => life.rollback(req.body.version, user(req), req.body.message, req.body.basedOn));

  app.get('/api/v1/config/versions', { ...read, schema: { summary: 'Committed versions (without their text)', response: { 200: Type.Array(VersionSummary), ...errors } } }, async () => life.versions());

  app.get<{ Params: VersionParams }>('/api/v1/config/versions/:version', {
    ...read, schema: { summary: 'One version with its text and its diff from the previous one', params: VersionParams, response: { 200: VersionRecord, 404: { $ref: 'Error#' }, ...errors } },
  }, async (req) => life.version(req.params.version));

  app.get<{ Querystring: ExportQuery }>('/api/v1/config/export', {
    ...read, schema: { summary: 'The text of the running config, the candidate or a version', querystring: ExportQuery, response: { 200: Type.Object({ text: Type.String() }), ...errors } },
  }, async (req) => ({ text: await life.export(ConfigRefOf(req.query.which ?? 'running')) }));

  app.get<{ Querystring: CompareQuery }>('/api/v1/config/compare', {
    ...read, schema: { summary: 'Unified diff between two of: running, candidate, a version number', querystring: CompareQuery, response: { 200: Type.Object({ diff: Type.String() }), ...errors } },
  }, async (req) => ({ diff: await life.compare(ConfigRefOf(req.query.a), ConfigRefOf(req.query.b)) }));

  app.get<{ Querystring: ValueQuery }>('/api/v1/config/value', {
    ...read, schema: { summary: 'The value at a path of the candidate (or running, or a version)', querystring: ValueQuery, response: { 200: Type.Object({ value: Type.Unknown() }), ...errors } },
  }, async (req) => ({ value: await life.getPath(req.query.path, ConfigRefOf(req.query.which ?? 'candidate')) }));
}
