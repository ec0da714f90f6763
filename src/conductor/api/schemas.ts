/**
 * The conductor API's request and response schemas (TypeBox: one definition gives the TypeScript type,
 * the JSON Schema fastify validates with, and the OpenAPI document at /api/v1/openapi.json).
 */
import { Type, type Static } from '@sinclair/typebox';

export const ErrorBody = Type.Object({ code: Type.String(), message: Type.String(), data: Type.Optional(Type.Unknown()) }, { $id: 'Error' });

export const LoginBody = Type.Object({ user: Type.String({ minLength: 1 }), password: Type.String() });
export type LoginBody = Static<typeof LoginBody>;
export const LoginReply = Type.Object({ token: Type.String(), role: Type.Union([Type.Literal('admin'), Type.Literal('read-only')]), expiresAt: Type.String() });

export const Status = Type.Object({
  role: Type.Union([Type.Literal('leader'), Type.Literal('standby')]),
  leader: Type.Union([Type.String(), Type.Null()]),
  url: Type.String(),
  version: Type.Integer(),
  store: Type.Union([Type.Literal('level'), Type.Literal('etcd')]),
});

export const CaReply = Type.Object({ certificate: Type.String(), pin: Type.String() });

export const EnrolBody = Type.Object({
  assetId: Type.String({ minLength: 1, maxLength: 63 }),
  token: Type.String({ minLength: 1, maxLength: 400 }),
  publicKey: Type.String({ minLength: 1, maxLength: 4000 }),
  proof: Type.String({ minLength: 1, maxLength: 400 }),
});
export type EnrolBody = Static<typeof EnrolBody>;
export const EnrolReply = Type.Object({ certificate: Type.String(), ca: Type.String(), conductors: Type.Array(Type.String()) });

export const Candidate = Type.Object({
  text: Type.String(), base: Type.Integer(), revision: Type.Integer(), changed: Type.Boolean(), updatedBy: Type.String(), updatedAt: Type.String(),
});
export const PutCandidateBody = Type.Object({ text: Type.String(), revision: Type.Optional(Type.Integer()) });
export type PutCandidateBody = Static<typeof PutCandidateBody>;
export const PatchCandidateBody = Type.Union([
  Type.Object({ set: Type.String({ minLength: 1 }), value: Type.Unknown() }),
  Type.Object({ delete: Type.String({ minLength: 1 }) }),
]);
export type PatchCandidateBody = Static<typeof PatchCandidateBody>;

export const Problem = Type.Object({ path: Type.String(), message: Type.String(), line: Type.Optional(Type.Integer()), column: Type.Optional(Type.Integer()) });
export const ValidateBody = Type.Object({ text: Type.Optional(Type.String()) });
export type ValidateBody = Static<typeof ValidateBody>;
export const ValidateReply = Type.Object({ valid: Type.Boolean(), problems: Type.Array(Problem), message: Type.String(), routers: Type.Array(Type.String()), generated: Type.Optional(Type.String()) });

export const CommitBody = Type.Object({ message: Type.String({ minLength: 1, maxLength: 500 }), basedOn: Type.Optional(Type.Integer({ minimum: 0 })) });
export type CommitBody = Static<typeof CommitBody>;
export const RollbackBody = Type.Object({ version: Type.Integer({ minimum: 1 }), message: Type.Optional(Type.String({ maxLength: 500 })), basedOn: Type.Optional(Type.Integer({ minimum: 0 })) });
export type RollbackBody = Static<typeof RollbackBody>;
export const CommitReply = Type.Object({ version: Type.Integer(), diff: Type.String(), routers: Type.Record(Type.String(), Type.String()) });

export const VersionSummary = Type.Object({
  version: Type.Integer(), time: Type.String(), author: Type.String(), message: Type.String(), rollbackOf: Type.Optional(Type.Integer()),
});
export const VersionRecord = Type.Composite([VersionSummary, Type.Object({ text: Type.String(), diff: Type.String() })]);
export const VersionParams = Type.Object({ version: Type.Integer({ minimum: 1 }) });
export type VersionParams = Static<typeof VersionParams>;

/** `running`, `candidate` or a version number */
export const ConfigRef = Type.String({ pattern: '^(running|candidate|[0-9]+)$' });
export const ExportQuery = Type.Object({ which: Type.Optional(ConfigRef) });
export type ExportQuery = Static<typeof ExportQuery>;
export const CompareQuery = Type.Object({ a: ConfigRef, b: ConfigRef });
export type CompareQuery = Static<typeof CompareQuery>;
export const ValueQuery = Type.Object({ path: Type.String({ minLength: 1 }), which: Type.Optional(ConfigRef) });
export type ValueQuery = Static<typeof ValueQuery>;

export const TokenBody = Type.Object({ assetId: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9_.-]+$' }), ttlMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 24 * 60 })) });
export type TokenBody = Static<typeof TokenBody>;
export const TokenReply = Type.Object({ token: Type.String(), id: Type.String(), assetId: Type.String(), expiresAt: Type.String() });

export const UserBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9_.-]+$' }),
  role: Type.Union([Type.Literal('admin'), Type.Literal('read-only')]),
  password: Type.String({ minLength: 8, maxLength: 200 }),
});
export type UserBody = Static<typeof UserBody>;

export const AuditQuery = Type.Object({ after: Type.Optional(Type.Integer({ minimum: 0 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) });
export type AuditQuery = Static<typeof AuditQuery>;

export const ConfigRefOf = (s: string): number | 'running' | 'candidate' => (s === 'running' || s === 'candidate' ? s : Number(s));
