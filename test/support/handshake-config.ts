/**
 * The example config with `key-exchange: handshake` on every wan interface: a fresh identity per router,
 * its private key in a file of `dir` (identity.private-key-file), optional policy fields on top.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, privateKeyBytes, type KeyPair } from '../../src/crypto/noise.js';
import type { SecurityPolicy, SvrConfig } from '../../src/model/config.js';
import { resolveConfig } from '../../src/model/validate.js';

export interface HandshakeConfig {
  config: SvrConfig;
  /** each router's key pair, by name (the "long-term keys" an attacker may steal later) */
  identities: Record<string, KeyPair>;
}

export function handshakeConfig(base: SvrConfig, dir: string, policy: Partial<SecurityPolicy> = {}): HandshakeConfig {
  const config = structuredClone(base);
  const a = config.authority;
  const identities: Record<string, KeyPair> = {};
  for (const r of a.routers) {
    const keys = generateKeyPair();
    identities[r.name] = keys;
    const file = join(dir, `${r.name}.key`);
    writeFileSync(file, `${Buffer.from(privateKeyBytes(keys)).toString('base64')}\n`, { mode: 0o600 });
    r.identity = { publicKey: Buffer.from(keys.publicKey).toString('base64'), privateKeyFile: file };
  }
  a.securityPolicies = a.securityPolicies.map((p) => ({ ...p, keyExchange: 'handshake', ...policy }));
  return { config: resolveConfig(config), identities };
}
