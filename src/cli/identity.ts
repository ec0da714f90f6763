/**
 * `svr identity new|show`: a router's X25519 key pair for the path key exchange (docs/security.md
 * "Identities"). The private key goes to a file only the node reads (`identity.private-key-file` in the
 * config); the public key is printed for `identity.public-key`, which every router of the authority reads.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SvrError, isSvrError } from '../errors.js';
import { generateKeyPair, keyPairFromPrivate, privateKeyBytes, type KeyPair } from '../crypto/noise.js';

/** Reads a private key file: 32 raw bytes, or their base64 on one line. */
export function readPrivateKeyFile(file: string): KeyPair {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new SvrError('SVR_ERR_IDENTITY_KEY', `cannot read the private key file ${file}: ${(e as Error).message}`);
  }
  const text = bytes.toString('utf8').trim();
  const raw = bytes.length === 32 ? bytes : /^[A-Za-z0-9+/]{43}=$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (raw === undefined) {
    throw new SvrError('SVR_ERR_IDENTITY_KEY', `${file} is not an X25519 private key (32 bytes, or their base64 on one line); make one with \`svr identity new --out ${file}\``);
  }
  return keyPairFromPrivate(raw);
}

export function registerIdentity(program: Command): void {
  const cmd = program
    .command('identity')
    .summary('make or show a router identity (X25519 key pair) for the path key exchange')
    .description('A router identity is the long-term X25519 key pair its paths authenticate with in the key exchange. '
      + 'The public key goes into the config (routers[].identity.public-key), the private key stays in a file on the router.');
  cmd
    .command('new')
    .description('make a key pair: the private key (base64) into --out, mode 0600; prints the public key')
    .requiredOption('--out <file>', 'file for the private key (not overwritten)')
    .action((opts: { out: string }) => {
      const k = generateKeyPair();
      try {
        writeFileSync(opts.out, `${Buffer.from(privateKeyBytes(k)).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      } catch (e) {
        process.stderr.write(`svr identity new: cannot write ${opts.out}: ${(e as Error).message}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${Buffer.from(k.publicKey).toString('base64')}\n`);
    });
  cmd
    .command('show')
    .description('print the public key of a private key file')
    .argument('<file>', 'private key file')
    .action((file: string) => {
      try {
        process.stdout.write(`${Buffer.from(readPrivateKeyFile(file).publicKey).toString('base64')}\n`);
      } catch (e) {
        if (!isSvrError(e)) throw e;
        process.stderr.write(`svr identity show: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
