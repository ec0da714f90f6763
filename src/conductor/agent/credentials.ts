/**
 * What a managed router keeps in its own state store (LevelDB, sublevel `conductor`): its enrolment
 * credentials (key, certificate, the authority CA, conductor URLs) and the last config it activated
 * (version, text, the conductor's signature), so it forwards on it when no conductor is reachable.
 */

export interface AgentStore {
  get(key: string): Promise<unknown>;
  put(key: string, value: unknown): Promise<void>;
}

export interface Credentials {
  assetId: string;
  keyPem: string;
  certPem: string;
  caPem: string;
  conductors: string[];
  enrolledAt: string;
}

export interface ActivatedConfig {
  version: number;
  router: string;
  /** the slice as the conductor sent it */
  text: string;
  signature: string;
  hash: string;
  activatedAt: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

export async function loadCredentials(store: AgentStore): Promise<Credentials | undefined> {
  const v = await store.get('credentials');
  return isObject(v) && typeof v['certPem'] === 'string' ? (v as unknown as Credentials) : undefined;
}

export async function saveCredentials(store: AgentStore, c: Credentials): Promise<void> {
  await store.put('credentials', c);
}

export async function loadActivated(store: AgentStore): Promise<ActivatedConfig | undefined> {
  const v = await store.get('activated');
  return isObject(v) && typeof v['text'] === 'string' ? (v as unknown as ActivatedConfig) : undefined;
}

export async function saveActivated(store: AgentStore, a: ActivatedConfig): Promise<void> {
  await store.put('activated', a);
}
