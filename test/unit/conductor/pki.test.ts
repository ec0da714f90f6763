import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { assetIdOf, caPin, createCa, enrolmentMessage, issueCertificate, newKeyPair, signVersion, signWith, verifyVersion, verifyWith } from '../../../src/conductor/pki/certificates.js';
import { namedBits, oid, time, unsignedInteger } from '../../../src/conductor/pki/der.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('DER: OIDs, integers, named bits and times as X.690 encodes them', () => {
  assert.is(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
  assert.is(hex(oid('2.5.29.17')), '0603551d11');
  assert.is(hex(unsignedInteger(Uint8Array.of(0x80))), '02020080', 'high bit set: a 0x00 is prepended');
  assert.is(hex(unsignedInteger(Uint8Array.of(0, 0, 5))), '020105', 'leading zeros trimmed');
  assert.is(hex(namedBits([0])), '03020780', 'digitalSignature: 7 unused bits');
  assert.is(hex(namedBits([5, 6])), '03020106', 'keyCertSign + cRLSign');
  assert.is(Buffer.from(time(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toString('latin1').slice(2), '260102030405Z');
  assert.is(time(new Date(Date.UTC(2051, 0, 1)))[0], 0x18, 'GeneralizedTime from 2050');
});

test('a CA, a server and a client certificate that Node parses and verifies', () => {
  const ca = createCa('lab');
  const caCert = new X509Certificate(ca.certPem);
  assert.ok(caCert.ca, 'the CA certificate is a CA');
  assert.ok(caCert.verify(caCert.publicKey), 'self-signed');
  assert.match(caCert.subject, /CN=svrouter conductor CA \(lab\)/);
  const server = newKeyPair();
  const serverCert = new X509Certificate(issueCertificate(ca, { publicKeyPem: server.publicKeyPem, commonName: 'conductor', role: 'server', ipAddresses: ['127.0.0.1', '::1'], dnsNames: ['localhost'] }));
  assert.not.ok(serverCert.ca);
  assert.ok(serverCert.verify(caCert.publicKey), 'signed by the CA');
  assert.ok(serverCert.checkIssued(caCert), 'issued by the CA (names match)');
  assert.is(serverCert.checkIP('127.0.0.1'), '127.0.0.1');
  assert.is(serverCert.checkHost('localhost'), 'localhost');
  assert.is(serverCert.checkIP('198.18.0.1'), undefined);
  const client = newKeyPair();
  const clientCert = new X509Certificate(issueCertificate(ca, { publicKeyPem: client.publicKeyPem, commonName: 'r1', role: 'client', assetId: 'r1' }));
  assert.is(assetIdOf(clientCert.subjectAltName), 'r1');
  assert.is(assetIdOf('DNS:x, URI:urn:svrouter:asset:edge-7'), 'edge-7');
  assert.is(assetIdOf(undefined), undefined);
  assert.match(caPin(ca.certPem), /^sha256:[A-Za-z0-9_-]{43}$/);
  const other = createCa('other');
  assert.not.ok(serverCert.verify(new X509Certificate(other.certPem).publicKey), 'another CA did not sign it');
});

test('mutual TLS with these certificates: both ends verified; a client from another CA is not authorized', async () => {
  const ca = createCa('lab');
  const s = newKeyPair();
  const serverCertPem = issueCertificate(ca, { publicKeyPem: s.publicKeyPem, commonName: 'conductor', role: 'server', ipAddresses: ['127.0.0.1'] });
  const seen: Array<{ authorized: boolean; asset: string | undefined }> = [];
  const server = createServer({ key: s.keyPem, cert: serverCertPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false }, (sock: TLSSocket) => {
    seen.push({ authorized: sock.authorized, asset: assetIdOf(sock.getPeerCertificate().subjectaltname) });
    sock.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const dial = (key: string, cert: string) => new Promise<string>((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port, key, cert, ca: ca.certPem }, () => undefined);
    let data = '';
    c.on('data', (d) => (data += d));
    c.on('end', () => resolve(data));
    c.on('error', reject);
  });
  const r1 = newKeyPair();
  assert.is(await dial(r1.keyPem, issueCertificate(ca, { publicKeyPem: r1.publicKeyPem, commonName: 'r1', role: 'client', assetId: 'r1' })), 'ok');
  const rogue = createCa('lab');
  const r2 = newKeyPair();
  await dial(r2.keyPem, issueCertificate(rogue, { publicKeyPem: r2.publicKeyPem, commonName: 'r2', role: 'client', assetId: 'r2' }));
  assert.equal(seen, [{ authorized: true, asset: 'r1' }, { authorized: false, asset: 'r2' }]);
  await new Promise<void>((r) => server.close(() => r()));
});

test('pushed versions: the CA signs one asset\'s text of one version; anything else fails', () => {
  const ca = createCa('lab');
  const sig = signVersion(ca.keyPem, 'r1', 7, '{"authority":{}}');
  assert.ok(verifyVersion(ca.certPem, 'r1', 7, '{"authority":{}}', sig));
  assert.not.ok(verifyVersion(ca.certPem, 'r2', 7, '{"authority":{}}', sig), 'another asset');
  assert.not.ok(verifyVersion(ca.certPem, 'r1', 8, '{"authority":{}}', sig), 'another version');
  assert.not.ok(verifyVersion(ca.certPem, 'r1', 7, '{"authority":{"x":1}}', sig), 'other text');
  assert.not.ok(verifyVersion(createCa('lab').certPem, 'r1', 7, '{"authority":{}}', sig), 'another conductor');
  assert.not.ok(verifyVersion(ca.certPem, 'r1', 7, '{"authority":{}}', 'garbage'));
  const k = newKeyPair();
  const m = enrolmentMessage('r1', 'tok', k.publicKeyPem);
  assert.ok(verifyWith(k.publicKeyPem, m, signWith(k.keyPem, m)));
  assert.not.ok(verifyWith(newKeyPair().publicKeyPem, m, signWith(k.keyPem, m)));
});

test.run();
