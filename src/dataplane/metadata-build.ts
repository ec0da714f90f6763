/**
 * What a session's metadata says, built from its row into the context's MetadataWriter
 * (fact sheet §3, §9 examples 1–2; our fixed TLV order: context first, then UUID and names).
 *   forward: header [16 security id] payload [2|3 forward ctx, 7 tenant, 10 service, 6 uuid, 14 source router,
 *            (11 payload encrypted), (35 application, once a classifier named it)]
 *   reverse: header [16 security id, (24 control)] payload [4|5 reverse ctx, (6 uuid), 18 disable forward metadata]
 *   (the uuid only after the egress moved the session to another path itself)
 */
import { HealthCheck, Tlv } from '../packet/svr-metadata.js';
import type { DataplaneContext } from './context.js';
import { SF_ENC_ON, SF_SEND_UUID, type SessionTable } from './session-table.js';

const uuidBytes = new Uint8Array(16);
const srcBytes = new Uint8Array(16);
const dstBytes = new Uint8Array(16);

/** Writes `family` address words w[at..] as bytes into out. */
export function wordsToBytes(w: Uint32Array, at: number, family: 4 | 6, out: Uint8Array): void {
  const words = family === 6 ? 4 : 1;
  for (let i = 0; i < words; i++) {
    const v = w[at + i]!;
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = (v >>> 16) & 0xff;
    out[4 * i + 2] = (v >>> 8) & 0xff;
    out[4 * i + 3] = v & 0xff;
  }
}

/** Forward metadata of row r for path `p` (default: its primary path); `probe` adds a health-check
 *  request (TLV 46 = 1). Returns the length. */
export function writeForwardMetadata(ctx: DataplaneContext, r: number, probe: boolean, p = ctx.sessions.path[r]!, tcpSyn = false): number {
  const t = ctx.sessions;
  const tables = ctx.tables;
  const w = ctx.writer;
  const fam = t.family[r] as 4 | 6;
  const path = tables.paths[p]!;
  wordsToBytes(t.srcWords(r), t.wordsAt, fam, srcBytes);
  wordsToBytes(t.dstWords(r), t.wordsAt, fam, dstBytes);
  wordsToBytes(t.uuid, r * 4, 6, uuidBytes);
  w.begin().u32(Tlv.SecurityId, ctx.crypto.keys.securityId(p, path.hmac.keyVersion));
  if (probe) w.u8(Tlv.HealthCheckOrKey, HealthCheck.Request);
  w.endHeader();
  w.context(Tlv.ForwardContextV4, fam, srcBytes, 0, dstBytes, 0, t.origSrcPort[r]!, t.origDstPort[r]!, t.protocol[r]!);
  const tenant = tables.tenantNameBytes[t.tenant[r]!]!;
  w.bytes(Tlv.TenantName, tenant, 0, tenant.length);
  const service = tables.services[t.service[r]!]!.nameBytes;
  w.bytes(Tlv.ServiceName, service, 0, service.length);
  w.bytes(Tlv.SessionUuid, uuidBytes, 0, 16);
  w.bytes(Tlv.SourceRouter, tables.routerNameBytes, 0, tables.routerNameBytes.length);
  if ((t.flags[r]! & SF_ENC_ON) !== 0) w.flag(Tlv.PayloadEncrypted); // TLV 11: this session's payload is encrypted
  if (tcpSyn) w.flag(Tlv.TcpSynPacket); // TLV 12: TCP carried as UDP (UDP transform), and this packet is its SYN
  const app = t.app[r]!;
  if (app !== 0) {
    const name = ctx.applications.nameBytes(app);
    w.bytes(Tlv.ApplicationName, name, 0, name.length);
  }
  return w.finish();
}

/** Reverse metadata of row r for path `p`; `control` >= 0 adds a control message (TLV 24). Returns the length. */
export function writeReverseMetadata(ctx: DataplaneContext, r: number, control: number, p = ctx.sessions.path[r]!): number {
  const t = ctx.sessions;
  const w = ctx.writer;
  const fam = t.family[r] as 4 | 6;
  const path = ctx.tables.paths[p]!;
  wordsToBytes(t.dstWords(r), t.wordsAt, fam, srcBytes);
  wordsToBytes(t.srcWords(r), t.wordsAt, fam, dstBytes);
  w.begin().u32(Tlv.SecurityId, ctx.crypto.keys.securityId(p, path.hmac.keyVersion));
  if (control >= 0) w.u8(Tlv.ControlMessage, control);
  w.endHeader();
  w.context(Tlv.ReverseContextV4, fam, srcBytes, 0, dstBytes, 0, t.origDstPort[r]!, t.origSrcPort[r]!, t.protocol[r]!);
  if ((t.flags[r]! & SF_SEND_UUID) !== 0) {
    // the egress moved the session itself: the ingress finds it by id on the new waypoint 5-tuple
    wordsToBytes(t.uuid, r * 4, 6, uuidBytes);
    w.bytes(Tlv.SessionUuid, uuidBytes, 0, 16);
  }
  w.flag(Tlv.DisableForwardMetadata);
  return w.finish();
}

/** Metadata with only a control message (no context, no session): "enable-metadata" for a flow we hold no session of. */
export function writeControlMetadata(ctx: DataplaneContext, p: number, control: number): number {
  const path = ctx.tables.paths[p]!;
  return ctx.writer.begin().u32(Tlv.SecurityId, ctx.crypto.keys.securityId(p, path.hmac.keyVersion)).u8(Tlv.ControlMessage, control).endHeader().finish();
}

/** The reverse context (server -> client) must mirror the session's original 5-tuple. */
export function reverseContextMatches(d: Uint8Array, off: number, family: 0 | 4 | 6, t: SessionTable, r: number): boolean {
  if (family !== t.family[r]) return false;
  const a = family === 6 ? 16 : 4;
  const origSrc = t.srcWords(r);
  const origDst = t.dstWords(r);
  const at = t.wordsAt;
  for (let i = 0; i < a / 4; i++) {
    const o = off + 4 * i;
    const src = ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
    const q = off + a + 4 * i;
    const dst = ((d[q]! << 24) | (d[q + 1]! << 16) | (d[q + 2]! << 8) | d[q + 3]!) >>> 0;
    if (src !== origDst[at + i] || dst !== origSrc[at + i]) return false;
  }
  const p = off + 2 * a;
  return ((d[p]! << 8) | d[p + 1]!) === t.origDstPort[r] && ((d[p + 2]! << 8) | d[p + 3]!) === t.origSrcPort[r] && d[p + 4] === t.protocol[r];
}
