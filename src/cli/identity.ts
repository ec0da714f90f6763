/**
 * `svr identity new|show`: a router's X25519 key pair for the path key exchange (docs/security.md
 * "Identities"). The private key goes to a file only the node reads (`identity.private-key-file` in the
 * config); the public key is printed for `identity.public-key`, which every router of the authority reads.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { isSvrError } from '../errors.js';
import { generateKeyPair, privateKeyBytes } from '../crypto/noise.js';
import { readPrivateKeyFile } from '../crypto/identity-file.js';

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
