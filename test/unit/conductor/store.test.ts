import { test } from 'uvu';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorityStore } from '../../../src/conductor/store/authority-store.js';
import { LevelKv } from '../../../src/conductor/store/level-kv.js';
import { storeContract } from './store-contract.js';

const dirs: string[] = [];
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

storeContract(test, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-cstore-'));
  dirs.push(dir);
  return new AuthorityStore(await LevelKv.open(join(dir, 'db')), 'level');
});

test.run();
