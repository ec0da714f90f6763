/**
 * A stream of commits through the CLI's session (SVR_CONDUCTOR_SESSION): run inside the lab's conductor
 * namespace by the HA end-to-end test while it kills the leading conductor. Each commit sets
 * services[echo].timeouts to { udp: 60 + i } and commits it; a commit whose answer was lost with the
 * leader is looked up by its message before it is tried again. One JSON line per acknowledged commit.
 *   node commit-stream.js COUNT
 */
import { isSvrError } from '../../src/errors.js';
import { api } from '../../src/cli/conductor-client.js';
import type { VersionSummary } from '../../src/conductor/store/authority-store.js';

const RETRY = ['SVR_ERR_CONDUCTOR_CONNECT', 'SVR_ERR_CONDUCTOR_STANDBY', 'SVR_ERR_CONDUCTOR_CONFLICT', 'SVR_ERR_CONDUCTOR_NO_CHANGE', 'SVR_ERR_CONDUCTOR_REQUEST', 'SVR_ERR_CONDUCTOR_STORE'];

async function commit(i: number): Promise<{ version: number; retries: number }> {
  const message = `stream commit ${i}`;
  for (let retries = 0; ; retries++) {
    try {
      const cand = await api<{ base: number }>('GET', '/api/v1/config/candidate');
      await api('PATCH', '/api/v1/config/candidate', { set: 'services[echo].timeouts', value: { udp: 60 + i } });
      return { version: (await api<{ version: number }>('POST', '/api/v1/config/commit', { message, basedOn: cand.base })).version, retries };
    } catch (e) {
      const landed = (await api<VersionSummary[]>('GET', '/api/v1/config/versions').catch(() => [])).find((v) => v.message === message);
      if (landed !== undefined) return { version: landed.version, retries };
      if (!isSvrError(e) || !RETRY.includes(e.code)) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const count = Number(process.argv[2] ?? '12');
for (let i = 1; i <= count; i++) {
  const r = await commit(i);
  process.stdout.write(`${JSON.stringify({ i, ...r, at: new Date().toISOString() })}\n`);
}
