/**
 * The conductor's certificate authority (RFC 5280 profile, ECDSA P-256 with SHA-256), built with Node's
 * crypto and der.ts: no openssl at run time.
 * - createCa: a self-signed CA certificate for the authority (10 years).
 * - issueCertificate: a server certificate for a conductor (its addresses as SANs) or a client
 *   certificate for an enrolled router (its asset id as CN and as the URI SAN urn:svrouter:asset:<id>).
 * - caPin: what an enrolment token carries so a new router knows which conductor to trust.
 * - signVersion / verifyVersion: the conductor signs every config it pushes; a router applies only
 *   what its conductor's CA key signed for its own asset id.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { parseAddress } from '../../packet/addr.js';
import { SvrError } from '../../errors.js';
import { bitString, boolean, explicit, implicit, namedBits, octetString, oid, sequence, set, smallInteger, time, unsignedInteger, utf8String, type Der } from './der.js';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** KeyUsage bits (RFC 5280 §4.2.1.3). */
const DIGITAL_SIGNATURE = 0;
const KEY_CERT_SIGN = 5;
const CRL_SIGN = 6;

const ASSET_URI_PREFIX = 'urn:svrouter:asset:';
const DAY_MS = 86_400_000;

/** A key pair as PEM: PKCS#8 private key, certificate. */
export interface KeyAndCertificate {
  keyPem: string;
  certPem: string;
}

export interface IssueRequest {
  /** SPKI PEM of the subject's public key */
  publicKeyPem: string;
  commonName: string;
  role: 'server' | 'client';
  /** server: host names and addresses the certificate is valid for */
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  /** client: the router's asset id (URI SAN) */
  assetId?: string;
  validDays?: number;
  now?: Date;
}

/** A new P-256 key pair: PKCS#8 private key PEM and SPKI public key PEM. */
export function newKeyPair(): { keyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export function createCa(authority: string, now = new Date()): KeyAndCertificate {
  const { keyPem, publicKeyPem } = newKeyPair();
  const name = distinguishedName(`svrouter conductor CA (${authority})`, authority);
  const spki = spkiDer(publicKeyPem);
  const extensions = [
    extension(OID.basicConstraints, true, sequence(boolean(true))),
    extension(OID.keyUsage, true, namedBits([KEY_CERT_SIGN, CRL_SIGN])),
    extension(OID.subjectKeyId, false, octetString(keyId(spki))),
  ];
  const certPem = build({ issuer: name, subject: name, spki, extensions, notBefore: now, days: 3650, signer: createPrivateKey(keyPem) });
  return { keyPem, certPem };
}

export function issueCertificate(ca: KeyAndCertificate, req: IssueRequest): string {
  const caCert = new X509Certificate(ca.certPem);
  const spki = spkiDer(req.publicKeyPem);
  const caSpki = spkiDer(caCert.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const names: Der[] = [];
  for (const dns of req.dnsNames ?? []) names.push(implicit(2, Buffer.from(dns, 'ascii')));
  for (const ip of req.ipAddresses ?? []) {
    const parsed = parseAddress(ip);
    if (parsed === undefined) throw new SvrError('SVR_ERR_CONDUCTOR_PKI', `cannot put "${ip}" in a certificate: not an IPv4 or IPv6 address`);
    names.push(implicit(7, parsed.bytes));
  }
  if (req.assetId !== undefined) names.push(implicit(6, Buffer.from(`${ASSET_URI_PREFIX}${req.assetId}`, 'ascii')));
  const extensions = [
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, namedBits([DIGITAL_SIGNATURE])),
    extension(OID.extKeyUsage, false, sequence(oid(req.role === 'server' ? OID.serverAuth : OID.clientAuth))),
    extension(OID.subjectKeyId, false, octetString(keyId(spki))),
    extension(OID.authorityKeyId, false, sequence(implicit(0, keyId(caSpki)))),
  ];
  if (names.length > 0) extensions.push(extension(OID.subjectAltName, false, sequence(...names)));
  return build({
    issuer: issuerName(caCert),
    subject: distinguishedName(req.commonName, organizationOf(caCert)),
    spki,
    extensions,
    notBefore: req.now ?? new Date(),
    days: req.validDays ?? 825,
    signer: createPrivateKey(ca.keyPem),
  });
}

/** `sha256:<base64url of the SHA-256 of the certificate's DER>`: pins a CA in an enrolment token. */
export function caPin(certPem: string): string {
  return `sha256:${createHash('sha256').update(new X509Certificate(certPem).raw).digest('base64url')}`;
}

/** SHA-256 fingerprint of a certificate (DER), hex: how the conductor remembers an enrolled router's certificate. */
export function fingerprint(certDer: Uint8Array): string {
  return createHash('sha256').update(certDer).digest('hex');
}

/** The asset id in a router's client certificate (its URI SAN), from Node's `subjectaltname` text. */
export function assetIdOf(subjectAltName: string | undefined): string | undefined {
  for (const part of (subjectAltName ?? '').split(/,\s*/)) {
    if (part.startsWith(`URI:${ASSET_URI_PREFIX}`)) return part.slice(4 + ASSET_URI_PREFIX.length);
  }
  return undefined;
}

function versionMessage(assetId: string, version: number, text: string): Buffer {
  const digest = createHash('sha256').update(text).digest('hex');
  return Buffer.from(`svr-config-v1\n${assetId}\n${version}\n${digest}`, 'utf8');
}

/** The conductor's signature (base64) over one router's config text of one version. */
/** The CA key as PEM or as a key object made once (a commit to 1,000 routers signs 1,000 slices: parsing the PEM each time cost 1 ms a signature). */
export function signVersion(caKey: string | KeyObject, assetId: string, version: number, text: string): string {
  return sign('sha256', versionMessage(assetId, version, text), typeof caKey === 'string' ? createPrivateKey(caKey) : caKey).toString('base64');
}

/** True when `signature` is the CA's over this asset's config text of this version (the CA as its certificate's PEM, or its public key). */
export function verifyVersion(ca: string | KeyObject, assetId: string, version: number, text: string, signature: string): boolean {
  try {
    return verify('sha256', versionMessage(assetId, version, text), typeof ca === 'string' ? new X509Certificate(ca).publicKey : ca, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** The public key of a CA certificate (PEM), for verifyVersion. */
export function caPublicKey(caCertPem: string): KeyObject {
  return new X509Certificate(caCertPem).publicKey;
}

/** What a router signs when it enrols, proving it holds the private key of the public key it sends. */
export function enrolmentMessage(assetId: string, token: string, publicKeyPem: string): Buffer {
  return Buffer.from(`svr-enrol-v1\n${assetId}\n${token}\n${publicKeyPem}`, 'utf8');
}

export function signWith(keyPem: string, message: Buffer): string {
  return sign('sha256', message, createPrivateKey(keyPem)).toString('base64');
}

export function verifyWith(publicKeyPem: string, message: Buffer, signature: string): boolean {
  try {
    return verify('sha256', message, createPublicKey(publicKeyPem), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

// --- building blocks ---

interface BuildInput {
  issuer: Der;
  subject: Der;
  spki: Der;
  extensions: Der[];
  notBefore: Date;
  days: number;
  signer: KeyObject;
}

function build(b: BuildInput): string {
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // positive, at most 20 octets (RFC 5280 §4.1.2.2)
  // a minute of slack for clocks that differ a little between conductor and router
  const from = new Date(b.notBefore.getTime() - 60_000);
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serial),
    algorithm,
    b.issuer,
    sequence(time(from), time(new Date(from.getTime() + b.days * DAY_MS))),
    b.subject,
    b.spki,
    explicit(3, sequence(...b.extensions)),
  );
  const signature = sign('sha256', tbs, b.signer); // ECDSA-Sig-Value in DER, as X.509 wants
  const der = sequence(tbs, algorithm, bitString(signature));
  const base64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${base64}\n-----END CERTIFICATE-----\n`;
}

function distinguishedName(commonName: string, organization: string): Der {
  return sequence(
    set(sequence(oid(OID.organization), utf8String(organization))),
    set(sequence(oid(OID.commonName), utf8String(commonName))),
  );
}

/** The CA's subject, re-encoded: our CA certificates always have exactly O and CN. */
function issuerName(ca: X509Certificate): Der {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(ca.subject)?.[1] ?? '';
  return distinguishedName(cn, organizationOf(ca));
}

function organizationOf(ca: X509Certificate): string {
  return /(?:^|\n)O=([^\n]*)/.exec(ca.subject)?.[1] ?? '';
}

function extension(id: string, critical: boolean, value: Der): Der {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value));
}

function spkiDer(publicKeyPem: string): Der {
  try {
    return createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  } catch (e) {
    throw new SvrError('SVR_ERR_CONDUCTOR_PKI', `not a public key in PEM (SPKI): ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Key identifier: SHA-1 over the SubjectPublicKeyInfo (RFC 5280 §4.2.1.2 allows any method; this one is stable). */
function keyId(spki: Der): Uint8Array {
  return createHash('sha1').update(spki).digest();
}
