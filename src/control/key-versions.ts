/**
 * Key versions a config change may move to. Receivers find static path keys and payload keys by key id,
 * `key-version mod 255 + 1` (dataplane/path-keys.ts keyId): a new key-version 255 (or a multiple of 255)
 * away from the running one has the running key's id, so the peers could not tell the two keys apart and
 * the new key would replace the old one at once instead of after rekey-delay (docs/security.md "Key slots").
 * Such a change is refused.
 */
import { ConfigError } from '../errors.js';
import { keyId } from '../dataplane/path-keys.js';
import type { SvrConfig } from '../model/config.js';

/** Throws SVR_ERR_CONFIG_INVALID naming each policy whose new key-version has the key id of its running one.
 *  `file`: problem paths in the file's kebab-case keys, else the config object's camelCase ones. */
export function refuseKeyIdReuse(running: SvrConfig, next: SvrConfig, source: string, file: boolean): void {
  const live = new Map(running.authority.securityPolicies.map((p) => [p.name, p.keyVersion]));
  const problems = next.authority.securityPolicies.flatMap((p, i) => {
    const was = live.get(p.name);
    if (was === undefined || was === p.keyVersion || keyId(was) !== keyId(p.keyVersion)) return [];
    const path = file ? `authority.security-policies[${i}].key-version` : `authority.securityPolicies[${i}].keyVersion`;
    const message = `${p.keyVersion} has the key id ${keyId(p.keyVersion)} of the running key-version ${was} (key id = key-version mod 255 + 1), ` +
      `so peers could not tell the keys apart; use another key-version, e.g. ${p.keyVersion < 0xffffffff ? p.keyVersion + 1 : p.keyVersion - 1}`;
    return [{ path, message }];
  });
  if (problems.length === 0) return;
  const lines = problems.map((q) => `  ${q.path}: ${q.message}`).join('\n');
  throw new ConfigError('SVR_ERR_CONFIG_INVALID', `${source}: a key-version change the peers could not follow:\n${lines}`, { source, problems });
}
