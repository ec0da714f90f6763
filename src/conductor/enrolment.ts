/**
 * Zero-touch provisioning at the conductor. An operator creates a one-time token for an asset id
 * (`svr conductor token create --asset-id r1`): `SVR1.<id>.<secret>.<CA pin>`. The router presents it
 * once with its public key (signed with the private key: proof of possession) and gets a client
 * certificate from the conductor's CA; the asset is recorded with that certificate's fingerprint.
 * A reused, expired, unknown or foreign token is refused, audited and alarmed.
 */
import { createHash, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { SvrError } from '../errors.js';
import type { Alarms } from './alarms.js';
import { caPin, enrolmentMessage, fingerprint, issueCertificate, verifyWith, type KeyAndCertificate } from './pki/certificates.js';
import type { AuthorityStore, TokenRecord } from './store/authority-store.js';

export const DEFAULT_TOKEN_TTL_MINUTES = 24 * 60;
const TOKEN_PREFIX = 'SVR1';

export interface ParsedToken {
  id: string;
  secret: string;
  /** `sha256:<base64url>` of the CA certificate */
  pin: string;
}

export function parseToken(token: string): ParsedToken | undefined {
  const parts = token.trim().split('.');
  if (parts.length !== 4 || parts[0] !== TOKEN_PREFIX || parts.slice(1).some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return undefined;
  return { id: parts[1]!, secret: parts[2]!, pin: `sha256:${parts[3]!}` };
}

const secretHash = (secret: string): string => createHash('sha256').update(secret).digest('hex');

export async function createToken(store: AuthorityStore, ca: KeyAndCertificate, assetId: string, user: string, ttlMinutes = DEFAULT_TOKEN_TTL_MINUTES): Promise<{ token: string; id: string; assetId: string; expiresAt: string }> {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(24).toString('base64url');
  const now = Date.now();
  const record: TokenRecord = {
    id, assetId, secretHash: secretHash(secret), createdAt: new Date(now).toISOString(), expiresAt: new Date(now + ttlMinutes * 60_000).toISOString(), createdBy: user,
  };
  await store.createToken(record, { user, action: 'token.create', result: 'ok', target: assetId, detail: `token ${id}, expires ${record.expiresAt}` });
  return { token: `${TOKEN_PREFIX}.${id}.${secret}.${caPin(ca.certPem).slice('sha256:'.length)}`, id, assetId, expiresAt: record.expiresAt };
}

export interface EnrolRequest {
  assetId: string;
  token: string;
  publicKey: string;
  proof: string;
  /** the requester's address, for the audit log */
  from: string;
}

/** Checks the token and the proof, issues the certificate, records the asset. Throws SVR_ERR_CONDUCTOR_ENROL (audited, alarmed). */
export async function enrol(store: AuthorityStore, alarms: Alarms, ca: KeyAndCertificate, req: EnrolRequest): Promise<{ certificate: string; ca: string }> {
  const refuse = async (why: string): Promise<never> => {
    await store.audit({ user: `asset ${req.assetId}`, action: 'enrol', result: 'refused', target: req.assetId, detail: `${why} (from ${req.from})` });
    alarms.raise(`enrol:${req.assetId}`, 'enrolment-refused', 'major', `enrolment of asset ${req.assetId} from ${req.from} refused: ${why}`);
    throw new SvrError('SVR_ERR_CONDUCTOR_ENROL', `enrolment refused: ${why}`);
  };
  const parsed = parseToken(req.token);
  if (parsed === undefined) return refuse('the token is malformed (expected SVR1.<id>.<secret>.<pin>)');
  const record = await store.token(parsed.id);
  if (record === undefined) return refuse(`unknown token ${parsed.id}`);
  const a = Buffer.from(secretHash(parsed.secret), 'hex');
  if (!timingSafeEqual(a, Buffer.from(record.secretHash, 'hex'))) return refuse(`wrong secret for token ${parsed.id}`);
  if (record.assetId !== req.assetId) return refuse(`token ${parsed.id} is for asset ${record.assetId}, not ${req.assetId}`);
  if (record.usedAt !== undefined) return refuse(`token ${parsed.id} was already used at ${record.usedAt}`);
  if (Date.parse(record.expiresAt) < Date.now()) return refuse(`token ${parsed.id} expired at ${record.expiresAt}`);
  if (!verifyWith(req.publicKey, enrolmentMessage(req.assetId, req.token, req.publicKey), req.proof)) return refuse('the proof of possession does not verify with the public key');
  const certificate = issueCertificate(ca, { publicKeyPem: req.publicKey, commonName: req.assetId, role: 'client', assetId: req.assetId });
  const enrolledAt = new Date().toISOString();
  const asset = { assetId: req.assetId, enrolledAt, fingerprint: fingerprint(new X509Certificate(certificate).raw) };
  const event = await store.enrol(record, asset, { user: `asset ${req.assetId}`, action: 'enrol', result: 'ok', target: req.assetId, detail: `token ${parsed.id} from ${req.from}` });
  if (event === undefined) return refuse(`token ${parsed.id} was used at the same time by another request`);
  alarms.clear(`enrol:${req.assetId}`, 'enrolment-refused');
  return { certificate, ca: ca.certPem };
}
