import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { isSvrError, type ErrorCode } from '../../../src/errors.js';
import { Alarms } from '../../../src/conductor/alarms.js';
import { Fleet } from '../../../src/conductor/fleet.js';
import { Lifecycle } from '../../../src/conductor/lifecycle.js';
import { AuthorityStore } from '../../../src/conductor/store/authority-store.js';
import { LevelKv } from '../../../src/conductor/store/level-kv.js';
import { hubAndSpokes } from '../model/helpers.js';

const dirs: string[] = [];
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'svr-life-'));
  dirs.push(dir);
  const store = new AuthorityStore(await LevelKv.open(dir), 'level');
  const alarms = new Alarms();
  const fleet = new Fleet({ store, alarms, sign: () => 'sig', conductors: () => [], log: () => undefined });
  const life = new Lifecycle(store, fleet);
  const a = hubAndSpokes(2);
  a.tenants = [{ name: 'eng', members: ['10.1.0.0/16'] }];
  a.services = [{ name: 'web', addresses: ['10.9.1.0/24'], 'access-policy': [{ source: 'eng' }] }];
  const first = await life.seed(`# seed\n${stringify({ authority: a })}`, 'test.yaml');
  return { store, alarms, fleet, life, first: first! };
}

async function rejects(p: Promise<unknown>, code: ErrorCode, ...fragments: string[]): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(isSvrError(e), String(e));
    assert.is(e.code, code, e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `«${e.message}» should include «${f}»`);
    return e;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

test('seed: version 1 with generated adjacencies; routers offline are out of sync with an alarm', async () => {
  const { life, first, fleet, alarms, store } = await setup();
  assert.is(first.version, 1);
  const v1 = await life.version(1);
  assert.is(v1.author, 'conductor');
  assert.is(v1.message, 'initial config from test.yaml');
  assert.ok(v1.text.startsWith('# seed'), 'comments kept');
  assert.ok(v1.text.includes('generated: true'));
  assert.equal(first.routers, { hub: 'out of sync', s1: 'out of sync', s2: 'out of sync' });
  assert.equal(fleet.routers().map((r) => [r.router, r.connected, r.version, r.head]), [['hub', false, null, 1], ['s1', false, null, 1], ['s2', false, null, 1]]);
  assert.is((await life.candidate()).changed, false, 'the candidate is the running config after a commit');
  assert.is(await life.seed('authority: {}', 'x'), undefined, 'seeding a store that has versions does nothing');
  const log = await store.auditLog();
  assert.equal(log.map((e) => [e.action, e.result, e.version ?? null]), [['config.candidate.import', 'ok', null], ['config.commit', 'ok', 1]]);
  assert.ok(log[1]!.diff!.includes('+  name: hs'));
  assert.equal(alarms.list(), [], 'new routers are out of sync but raise no alarm until a commit passes them by');
});

test('bad commits are refused with the field path and change nothing', async () => {
  const { life, store } = await setup();
  const cases: Array<[string, unknown, string]> = [
    ['services[web].access-policy[0].source', 'nobody', 'authority.services[0].access-policy[0].source: unknown tenant "nobody"'],
    ['routers[s2].name', 's1', 'authority.routers[2].name: duplicate router name "s1"'],
    ['routers[s2].name', 'unknown', 'authority.routers[2].name: expected a router name'],
    ['routers[hub].interfaces[wan0].mtu', 99999, 'authority.routers[0].interfaces[1].mtu: expected a whole number 576-65535'],
  ];
  for (const [path, value, expected] of cases) {
    await life.setPath(path, value, 'admin');
    const v = await life.validate();
    assert.not.ok(v.valid);
    assert.ok(v.problems.some((p) => `${p.path}: ${p.message}`.startsWith(expected)), `${expected} in ${v.message}`);
    await rejects(life.commit('admin', 'bad', 1), 'SVR_ERR_CONFIG_INVALID', expected);
    assert.is(await store.head(), 1, 'nothing committed');
    await life.revertCandidate('admin');
  }
  const refused = (await store.auditLog()).filter((e) => e.result === 'refused');
  assert.is(refused.length, 4, 'every refused commit is audited');
  await rejects(life.commit('admin', 'same', 1), 'SVR_ERR_CONDUCTOR_NO_CHANGE', 'same as version 1');
});

test('commit, compare, rollback (a new version with the old config), export', async () => {
  const { life, store } = await setup();
  await life.setPath('services[db]', { addresses: ['10.9.2.0/24'], 'access-policy': [{ source: 'eng' }] }, 'alice');
  const c = await life.commit('alice', 'add db', 1);
  assert.is(c.version, 2);
  assert.ok(c.diff.includes('+    - name: db'), c.diff);
  const v2 = await life.version(2);
  assert.equal([v2.author, v2.message], ['alice', 'add db']);
  assert.is(await life.compare(1, 2), c.diff.replace('--- version 1\n+++ version 2', '--- version 1\n+++ version 2'));
  assert.is(await life.compare('running', 2), '');
  const r = await life.rollback(1, 'bob', undefined, 2);
  assert.is(r.version, 3);
  assert.is((await life.version(3)).rollbackOf, 1);
  assert.is((await life.version(3)).message, 'rollback to version 1');
  assert.is(await life.export(3), await life.export(1), 'rollback restores the text');
  assert.is(await life.export('candidate'), await life.export(1), 'and the candidate, which had no edits');
  assert.ok((await life.compare(2, 3)).includes('-    - name: db'));
  assert.equal((await life.versions()).map((v) => [v.version, v.author]), [[1, 'conductor'], [2, 'alice'], [3, 'bob']]);
  const actions = (await store.auditLog()).map((e) => e.action);
  assert.equal(actions.slice(-3), ['config.candidate.set', 'config.commit', 'config.rollback']);
  await rejects(life.rollback(9, 'bob'), 'SVR_ERR_CONDUCTOR_NOT_FOUND', 'no version 9');
});

test('concurrent commits: one wins, the other gets SVR_ERR_CONDUCTOR_CONFLICT naming the version it was based on', async () => {
  const { life, store } = await setup();
  await life.setPath('services[web].addresses', ['10.9.7.0/24'], 'alice');
  const [a, b] = await Promise.allSettled([life.commit('alice', 'a', 1), life.commit('bob', 'b', 1)]);
  const won = [a, b].filter((x) => x.status === 'fulfilled');
  const lost = [a, b].filter((x): x is PromiseRejectedResult => x.status === 'rejected');
  assert.is(won.length, 1);
  assert.is(lost.length, 1);
  assert.ok(isSvrError(lost[0]!.reason, 'SVR_ERR_CONDUCTOR_CONFLICT'));
  assert.match((lost[0]!.reason as Error).message, /based on version 1, but version 2 is running now \(by (alice|bob)/);
  assert.is(await store.head(), 2);
  // a candidate with edits derived from an older version conflicts (a rollback landed meanwhile); the edits stay
  await life.setPath('services[web].addresses', ['10.9.8.0/24'], 'alice');
  await life.rollback(1, 'bob');
  assert.ok((await life.export('candidate')).includes('10.9.8.0/24'), 'the rollback left alice\'s edits alone');
  await rejects(life.commit('alice', 'late'), 'SVR_ERR_CONDUCTOR_CONFLICT', 'the candidate was based on version 2, but version 3 is running now (by bob');
  // an edit based on a stale candidate revision is refused too
  const cand = await life.candidate();
  await rejects(life.replaceCandidate(cand.text, 'x', 'config.candidate.replace', cand.revision - 1), 'SVR_ERR_CONDUCTOR_CONFLICT', `your edit was based on revision ${cand.revision - 1}`);
});

test.run();
