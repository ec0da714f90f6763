/**
 * The routers' channel at the conductor (WebSocket on mutual TLS, channel/protocol.ts).
 * 1. Not leading: tell the router where the leader is and close.
 * 2. The client certificate must chain to this authority's CA and be the very certificate issued to its
 *    asset at enrolment (fingerprint); otherwise: refused, audited, alarmed (an unknown certificate).
 * 3. The first message is hello, naming the same asset id as the certificate; otherwise: refused,
 *    audited, alarmed (a router claiming another asset id).
 * 4. Then the fleet owns it: messages in, configs out; a close detaches it. Answers to questions go to
 *    the router queries, reports also to the fabric history.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { WebSocket } from 'ws';
import { assetIdOf, fingerprint } from '../pki/certificates.js';
import { CHANNEL_PATH, CLOSE, parseMessage, type ConductorMessage, type RouterMessage, type RouterReport } from '../channel/protocol.js';
import type { RouterChannel } from '../fleet.js';
import { remoteOf, type ApiContext } from './app.js';

const HELLO_TIMEOUT_MS = 10_000;

export function registerChannel(app: FastifyInstance, ctx: ApiContext): void {
  app.get(CHANNEL_PATH, { websocket: true, schema: { hide: true } }, (socket: WebSocket, req: FastifyRequest) => {
    void accept(ctx, socket, req);
  });
}

async function accept(ctx: ApiContext, socket: WebSocket, req: FastifyRequest): Promise<void> {
  const remote = remoteOf(req);
  // the router says hello as soon as the socket opens: keep what arrives while the certificate is checked
  const early: unknown[] = [];
  const keep = (data: unknown) => early.push(data);
  socket.on('message', keep);
  const send = (m: ConductorMessage) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(m));
  };
  if (!ctx.leadership.isLeader) {
    send({ type: 'redirect', leader: ctx.leadership.leaderUrl ?? '' });
    socket.close(CLOSE.notLeader, 'not the leader');
    return;
  }
  const tls = req.raw.socket as TLSSocket;
  const cert = tls.getPeerCertificate();
  const certAsset = assetIdOf(cert?.subjectaltname);
  const refuse = async (code: number, alarmKind: string, why: string, asset: string) => {
    ctx.log('channel.refused', { from: remote, asset, reason: why });
    ctx.alarms.raise(`channel:${asset}`, alarmKind, 'major', `router channel from ${remote} refused: ${why}`);
    await ctx.store.audit({ user: `asset ${asset}`, action: 'channel', result: 'refused', target: asset, detail: `${why} (from ${remote})` }).catch(() => undefined);
    socket.close(code, why.slice(0, 120));
  };
  if (!tls.authorized || cert?.raw === undefined || certAsset === undefined) {
    await refuse(CLOSE.unknownCertificate, 'unknown-certificate', `no client certificate from this authority's CA (${tls.authorizationError === undefined || tls.authorizationError === null ? 'none presented' : String(tls.authorizationError)})`, certAsset ?? 'unknown');
    return;
  }
  const asset = await ctx.store.asset(certAsset);
  if (asset === undefined || asset.fingerprint !== fingerprint(cert.raw)) {
    await refuse(CLOSE.unknownCertificate, 'unknown-certificate', asset === undefined ? `asset ${certAsset} is not enrolled` : `not the certificate issued to asset ${certAsset} at its enrolment`, certAsset);
    return;
  }
  const channel: RouterChannel = { assetId: certAsset, remote, send, close: (code, reason) => socket.close(code, reason) };
  let attached = false;
  const helloTimer = setTimeout(() => void refuse(1008, 'no-hello', `no hello within ${HELLO_TIMEOUT_MS / 1000} s`, certAsset), HELLO_TIMEOUT_MS);
  const onMessage = (data: unknown) => {
    const m = parseMessage<RouterMessage>(data);
    if (m === undefined) {
      ctx.log('channel.bad-message', { asset: certAsset, from: remote });
      return;
    }
    if (!attached) {
      if (m.type !== 'hello') return;
      clearTimeout(helloTimer);
      if (m.assetId !== certAsset) {
        void refuse(CLOSE.assetMismatch, 'asset-mismatch', `the router claims asset ${m.assetId} with the certificate of asset ${certAsset}`, certAsset);
        return;
      }
      attached = true;
      ctx.alarms.clear(`channel:${certAsset}`, 'unknown-certificate');
      ctx.alarms.clear(`channel:${certAsset}`, 'asset-mismatch');
      ctx.log('channel.open', { asset: certAsset, from: remote, version: m.version ?? 'none' });
      ctx.fleet.attach(channel, m.version, m.hash);
      ctx.queries.open(certAsset, send);
      return;
    }
    if (m.type === 'answer') return ctx.queries.answer(certAsset, m);
    if (m.type === 'report') recordReport(ctx, certAsset, m.report);
    ctx.fleet.message(channel, m);
  };
  socket.off('message', keep);
  socket.on('message', onMessage);
  for (const data of early) onMessage(data);
  socket.on('close', () => {
    clearTimeout(helloTimer);
    if (!attached) return;
    ctx.log('channel.closed', { asset: certAsset, from: remote });
    ctx.queries.close(certAsset, send);
    ctx.fleet.detach(channel);
  });
  socket.on('error', () => undefined);
}

/** A report into the fabric history, under the router the asset is (unassigned assets have none). */
function recordReport(ctx: ApiContext, assetId: string, report: RouterReport): void {
  const router = ctx.fleet.routers().find((r) => r.assetId === assetId)?.router;
  if (router === undefined) return;
  ctx.history.report(router, report, Date.now());
}
