/**
 * Enrolment at the router: runs the enrolment machine (machines/enrolment.ts) with real requests.
 * fetchCa: GET /api/v1/ca without verification, then the CA must match the pin in the token (so a
 * wrong conductor never sees the token); sendEnrolment: POST /api/v1/enrol over TLS verified with
 * that CA, with a new key pair's public key and a signature by its private key.
 */
import { createActor, waitFor } from 'xstate';
import { SvrError, isSvrError } from '../../errors.js';
import { enrolmentMachine } from '../../machines/enrolment.js';
import { parseToken } from '../enrolment.js';
import { caPin, enrolmentMessage, newKeyPair, signWith } from '../pki/certificates.js';
import { type AgentStore, type Credentials, saveCredentials } from './credentials.js';
import { httpsJson } from './https.js';

export interface EnrolOptions {
  assetId: string;
  conductors: readonly string[];
  token: string;
  log: (event: string, fields: Record<string, string | number | boolean>) => void;
}

export async function enrolRouter(store: AgentStore, o: EnrolOptions): Promise<Credentials> {
  const parsed = parseToken(o.token);
  if (parsed === undefined) throw new SvrError('SVR_ERR_CONDUCTOR_ENROL', 'the enrolment token is malformed: expected SVR1.<id>.<secret>.<pin> as `svr conductor token create` prints it');
  const keys = newKeyPair();
  let caPem = '';
  let credentials: Credentials | undefined;
  let pending: Promise<void> = Promise.resolve();
  const actor = createActor(enrolmentMachine.provide({
    actions: {
      fetchCa: (_, { url }) => {
        pending = httpsJson<{ certificate: string }>(`${url}/api/v1/ca`, 'GET', undefined, { insecure: true, timeoutMs: 5000 }).then(
          (r) => {
            const matches = caPin(r.certificate) === parsed.pin;
            if (matches) caPem = r.certificate;
            else o.log('enrol.ca-mismatch', { conductor: url });
            actor.send({ type: 'ca.fetched', pinMatches: matches });
          },
          (e: unknown) => actor.send({ type: 'request.failed', message: e instanceof Error ? e.message : String(e) }),
        );
      },
      sendEnrolment: (_, { url }) => {
        const proof = signWith(keys.keyPem, enrolmentMessage(o.assetId, o.token, keys.publicKeyPem));
        pending = httpsJson<{ certificate: string; ca: string; conductors: string[] }>(`${url}/api/v1/enrol`, 'POST', { assetId: o.assetId, token: o.token, publicKey: keys.publicKeyPem, proof }, { ca: caPem, timeoutMs: 10_000 }).then(
          (r) => {
            credentials = { assetId: o.assetId, keyPem: keys.keyPem, certPem: r.certificate, caPem, conductors: [...new Set([...o.conductors, ...r.conductors])], enrolledAt: new Date().toISOString() };
            actor.send({ type: 'enrol.accepted' });
          },
          (e: unknown) => actor.send(isSvrError(e, 'SVR_ERR_CONDUCTOR_ENROL') ? { type: 'enrol.refused', message: e.message } : { type: 'request.failed', message: e instanceof Error ? e.message : String(e) }),
        );
      },
      storeCredentials: () => undefined,
      report: (_, p) => o.log(`enrol.${p.outcome}`, { asset: o.assetId, ...(p.message === '' ? {} : { message: p.message }) }),
    },
  }), { input: { assetId: o.assetId, conductors: o.conductors } });
  actor.start();
  const end = await waitFor(actor, (s) => s.status === 'done');
  await pending;
  actor.stop();
  if (end.value !== 'enrolled' || credentials === undefined) {
    throw new SvrError('SVR_ERR_CONDUCTOR_ENROL', `asset ${o.assetId} could not enrol: ${end.context.lastError ?? 'refused'}; ask for a new token (svr conductor token create --asset-id ${o.assetId})`);
  }
  await saveCredentials(store, credentials);
  return credentials;
}
