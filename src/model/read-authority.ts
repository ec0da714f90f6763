/**
 * First validation pass, top of the file: the authority, its security policies, tenants and
 * service-policies (read-service-policy.ts). Checks what one object can check alone, converts kebab-case keys to the
 * camelCase types of config.ts and fills defaults (including the built-in `internal` security
 * policy and `default` service-policy). Cross-references are checked later (check-references.ts).
 */
import type { Authority, HmacCipher, HmacMode, EncryptionCipher, KeyExchange, SecurityPolicy, StepMode, StepSettings, SvrConfig, Tenant } from './config.js';
import { BUILTIN_SECURITY_POLICY, BUILTIN_SERVICE_POLICY, SECURITY_POLICY_DEFAULTS, builtinSecurityPolicy, builtinServicePolicy } from './defaults.js';
import { readList, type ReadContext } from './fields.js';
import { isHexKey, isHexSecret, prefixProblem } from './formats.js';
import { NAME_RULES, isAuthorityName, isPlainName, isTenantName } from './names.js';
import type { FieldPath } from './problems.js';
import { readService } from './read-service.js';
import { readPlugins, readServiceChain } from './read-plugins.js';
import { readRouter } from './read-router.js';
import { readServicePolicy } from './read-service-policy.js';
import { readTelemetry } from './read-telemetry.js';

export const TOP_KEYS = ['authority'] as const;
export const AUTHORITY_KEYS = ['name', 'secret', 'security-policies', 'tenants', 'services', 'service-policies', 'routers', 'plugins', 'telemetry', 'step'] as const;
export const STEP_KEYS = ['mode'] as const;
const STEP_MODES: readonly StepMode[] = ['flood', 'conductor'];
export const SECURITY_POLICY_KEYS = ['name', 'hmac-mode', 'hmac-cipher', 'encrypt', 'encryption-cipher', 'adaptive-encryption', 'key', 'key-version', 'rekey-delay', 'key-exchange', 'rekey-interval'] as const;
export const TENANT_KEYS = ['name', 'members', 'service-chain'] as const;

const HMAC_MODES: readonly HmacMode[] = ['disabled', 'metadata-only', 'regular', 'time-based'];
const HMAC_CIPHERS: readonly HmacCipher[] = ['sha256-128', 'sha256', 'sha1'];
const ENCRYPTION_CIPHERS: readonly EncryptionCipher[] = ['aes-cbc-128', 'aes-cbc-256', 'aes-gcm-256'];
const KEY_EXCHANGES: readonly KeyExchange[] = ['static', 'handshake'];

/** Hex digits of `authority.secret` (32 bytes at least) and of a policy `key` (exactly 32 bytes). */
export const SECRET_MIN_HEX_DIGITS = 64;
export const KEY_HEX_DIGITS = 64;

export function readConfig(data: unknown, ctx: ReadContext): SvrConfig | undefined {
  const top = ctx.r.object(data, [], 'a mapping with the single key `authority`', TOP_KEYS);
  if (top === undefined) return undefined;
  if (top['authority'] === undefined) {
    ctx.r.problems.missing(['authority'], 'the authority mapping');
    return undefined;
  }
  const authority = readAuthority(top['authority'], ['authority'], ctx);
  return authority === undefined ? undefined : { authority };
}

function readAuthority(value: unknown, path: FieldPath, ctx: ReadContext): Authority | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'the authority mapping', AUTHORITY_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.authority, isAuthorityName) ?? '';
  const secret = r.optionalString(o, 'secret', path, `a hex string of at least ${SECRET_MIN_HEX_DIGITS} hex digits (32 bytes), even length`, (s) =>
    isHexSecret(s, SECRET_MIN_HEX_DIGITS),
  );
  const securityPolicies = readList(ctx, o, 'security-policies', path, 'a list of security policies', (v, p) => readSecurityPolicy(v, p, ctx));
  const tenants = readList(ctx, o, 'tenants', path, 'a list of tenants', (v, p) => readTenant(v, p, ctx));
  const services = readList(ctx, o, 'services', path, 'a list of services', (v, p) => readService(v, p, ctx));
  const servicePolicies = readList(ctx, o, 'service-policies', path, 'a list of service-policies', (v, p) => readServicePolicy(v, p, ctx));
  const routers = readList(ctx, o, 'routers', path, 'a list of routers', (v, p) => readRouter(v, p, ctx), true);
  const plugins = readPlugins(o, path, ctx);
  const telemetry = readTelemetry(o['telemetry'], [...path, 'telemetry'], ctx);
  if (Array.isArray(o['routers']) && o['routers'].length === 0) r.problems.add([...path, 'routers'], 'expected at least one router, got an empty list');

  if (!securityPolicies.some((p) => p.name === BUILTIN_SECURITY_POLICY)) securityPolicies.push(builtinSecurityPolicy());
  if (!servicePolicies.some((p) => p.name === BUILTIN_SERVICE_POLICY)) servicePolicies.push(builtinServicePolicy());

  const step = o['step'] === undefined || o['step'] === null ? undefined : readStep(o['step'], [...path, 'step'], ctx);
  const authority: Authority = { name, securityPolicies, tenants, services, servicePolicies, routers, plugins, telemetry };
  if (secret !== undefined) authority.secret = secret;
  if (step !== undefined) authority.step = step;
  ctx.origins.set(authority, path);
  return authority;
}

/** `step: { mode: flood | conductor }` (docs/step.md "Through the conductor"). */
function readStep(value: unknown, path: FieldPath, { r }: ReadContext): StepSettings | undefined {
  const o = r.object(value, path, 'a STEP mapping ({ mode })', STEP_KEYS);
  if (o === undefined) return undefined;
  return { mode: r.oneOf(o, 'mode', path, STEP_MODES, 'flood') };
}

function readSecurityPolicy(value: unknown, path: FieldPath, { r }: ReadContext): SecurityPolicy | undefined {
  const o = r.object(value, path, 'a security policy mapping', SECURITY_POLICY_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.plain, isPlainName);
  const d = SECURITY_POLICY_DEFAULTS;
  const policy: SecurityPolicy = {
    name: name ?? '',
    hmacMode: r.oneOf(o, 'hmac-mode', path, HMAC_MODES, d.hmacMode),
    hmacCipher: r.oneOf(o, 'hmac-cipher', path, HMAC_CIPHERS, d.hmacCipher),
    encrypt: r.boolean(o, 'encrypt', path, d.encrypt),
    encryptionCipher: r.oneOf(o, 'encryption-cipher', path, ENCRYPTION_CIPHERS, d.encryptionCipher),
    adaptiveEncryption: r.boolean(o, 'adaptive-encryption', path, d.adaptiveEncryption),
    keyVersion: r.integer(o, 'key-version', path, 0, 0xffffffff, d.keyVersion),
    rekeyDelay: r.integer(o, 'rekey-delay', path, 0, 3600, d.rekeyDelay, ' seconds'),
    keyExchange: r.oneOf(o, 'key-exchange', path, KEY_EXCHANGES, d.keyExchange),
    rekeyInterval: r.integer(o, 'rekey-interval', path, 2, 86_400, d.rekeyInterval, ' seconds'),
  };
  const key = r.optionalString(o, 'key', path, `exactly ${KEY_HEX_DIGITS} hex digits (32 bytes)`, (s) => isHexKey(s, KEY_HEX_DIGITS));
  if (key !== undefined) policy.key = key;
  return name === undefined ? undefined : policy;
}

function readTenant(value: unknown, path: FieldPath, ctx: ReadContext): Tenant | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'a tenant mapping', TENANT_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.tenant, isTenantName);
  const members: string[] = [];
  for (const [member, at] of r.list(o, 'members', path, 'a list of source prefixes')) {
    if (typeof member !== 'string') {
      r.problems.expected(at, 'a source prefix like 198.18.1.0/24', member);
      continue;
    }
    const problem = prefixProblem(member);
    if (problem !== undefined) r.problems.add(at, problem);
    members.push(member);
  }
  const serviceChain = readServiceChain(o, path, ctx);
  return name === undefined ? undefined : { name, members, serviceChain };
}
