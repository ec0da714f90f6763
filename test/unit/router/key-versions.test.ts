/**
 * Key versions a reload may move to (docs/security.md "Key slots"): the key id is key-version mod 255 + 1, so a
 * jump of 255 (or a multiple) would reuse the running key's id and the peers could not tell the keys apart. Such a
 * config is refused with the field named, the running keys stay; a jump of 256 is another key id and applies.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { ConfigError } from '../../../src/errors.js';
import { EXAMPLE_CONFIG, exampleConfig } from '../../support/config.js';

const internalVersion = (c: { authority: { securityPolicies: { name: string; keyVersion: number }[] } }) =>
  c.authority.securityPolicies.find((p) => p.name === 'internal')!.keyVersion;

function refusal(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('the config was applied');
}

test('a key-version 255 or 510 away from the running one is refused naming the field; 256 away applies', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    assert.is(internalVersion(lab.r1.runningConfig), 1);
    const at = lab.r1.runningConfig.authority.securityPolicies.findIndex((p) => p.name === 'internal');
    for (const jump of [255, 510]) {
      const next = structuredClone(lab.r1.runningConfig);
      next.authority.securityPolicies[at]!.keyVersion = 1 + jump;
      const e = refusal(() => lab.r1.applyConfig(next));
      assert.is(e.code, 'SVR_ERR_CONFIG_INVALID');
      assert.equal(e.data.problems.map((p) => p.path), [`authority.securityPolicies[${at}].keyVersion`]);
      assert.match(e.message, `${1 + jump} has the key id 2 of the running key-version 1`);
      assert.is(internalVersion(lab.r1.runningConfig), 1, `+${jump}: the running key-version stays`);
    }
    const next = structuredClone(lab.r1.runningConfig);
    next.authority.securityPolicies[at]!.keyVersion = 257;
    lab.r1.applyConfig(next);
    assert.is(internalVersion(lab.r1.runningConfig), 257, '+256 is key id 3: applied');
  } finally {
    await lab.close();
  }
});

test('a config file with such a key-version is refused with its kebab-case field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'svr-key-versions-'));
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    const file = join(dir, 'config.yaml');
    const text = (await readFile(EXAMPLE_CONFIG, 'utf8')).replace('      encrypt: false\n', '      encrypt: false\n      key-version: 256\n');
    assert.ok(text.includes('key-version: 256'), 'the example still has the internal policy');
    await writeFile(file, text);
    const e = await lab.r1.applyConfigFile(file).then(() => undefined, (x: unknown) => x);
    assert.instance(e, ConfigError);
    assert.equal((e as ConfigError).data.problems.map((p) => p.path), ['authority.security-policies[0].key-version']);
    assert.is(internalVersion(lab.r1.runningConfig), 1);
  } finally {
    await lab.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
