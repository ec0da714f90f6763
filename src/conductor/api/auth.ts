/**
 * API users and tokens (as SSR's REST: a login returns a JWT; roles admin (config write) and read-only).
 * Passwords are kept as scrypt hashes; tokens are HS256 JWTs signed with a key every conductor of the
 * authority shares (kept in the store), valid 12 hours.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { SvrError } from '../../errors.js';
import type { AuthorityStore, Role, UserRecord } from '../store/authority-store.js';

export const TOKEN_LIFETIME_S = 12 * 3600;
const KEY_LENGTH = 32;

export interface Principal {
  user: string;
  role: Role;
}

export function hashPassword(name: string, role: Role, password: string): UserRecord {
  const salt = randomBytes(16);
  return { name, role, salt: salt.toString('hex'), hash: scryptSync(password, salt, KEY_LENGTH).toString('hex'), createdAt: new Date().toISOString() };
}

export function passwordMatches(u: UserRecord, password: string): boolean {
  const h = scryptSync(password, Buffer.from(u.salt, 'hex'), KEY_LENGTH);
  return timingSafeEqual(h, Buffer.from(u.hash, 'hex'));
}

export class Tokens {
  constructor(private readonly key: Uint8Array) {}

  async issue(p: Principal): Promise<{ token: string; expiresAt: string }> {
    const exp = Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_S;
    const token = await new SignJWT({ role: p.role }).setProtectedHeader({ alg: 'HS256' }).setSubject(p.user).setIssuedAt().setExpirationTime(exp).sign(this.key);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** The principal of a bearer token; throws SVR_ERR_CONDUCTOR_AUTH. */
  async verify(header: string | undefined): Promise<Principal> {
    const token = /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
    if (token === undefined) throw new SvrError('SVR_ERR_CONDUCTOR_AUTH', 'no bearer token: log in first (svr conductor login, or POST /api/v1/login)');
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      const role = payload['role'];
      if (typeof payload.sub !== 'string' || (role !== 'admin' && role !== 'read-only')) throw new Error('malformed claims');
      return { user: payload.sub, role };
    } catch (e) {
      throw new SvrError('SVR_ERR_CONDUCTOR_AUTH', `the token is not valid (${e instanceof Error ? e.message : String(e)}): log in again`);
    }
  }
}

/** Checks a login; every failure is audited with the same answer for an unknown user and a wrong password. */
export async function login(store: AuthorityStore, tokens: Tokens, user: string, password: string, from: string): Promise<{ token: string; role: Role; expiresAt: string }> {
  const u = await store.user(user);
  if (u === undefined || !passwordMatches(u, password)) {
    await store.audit({ user, action: 'login', result: 'refused', detail: `wrong user or password from ${from}` });
    throw new SvrError('SVR_ERR_CONDUCTOR_AUTH', 'wrong user or password');
  }
  return { ...(await tokens.issue({ user: u.name, role: u.role })), role: u.role };
}
