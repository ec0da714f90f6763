/** What every conductor store backend must do (run over LevelDB and over real etcd). */
import * as assert from 'uvu/assert';
import type { Test } from 'uvu';
import type { AuthorityStore, VersionRecord } from '../../../src/conductor/store/authority-store.js';

const version = (n: number, text = `v${n}`): VersionRecord => ({ version: n, time: new Date().toISOString(), author: 'admin', message: `m${n}`, text, diff: '' });
const draft = { user: 'admin', action: 'config.commit', result: 'ok' as const };

export function storeContract(test: Test, open: () => Promise<AuthorityStore>): void {
  test('commits: the head moves one version at a time; of two commits on the same head one wins', async () => {
    const s = await open();
    assert.is(await s.head(), 0);
    const [a, b] = await Promise.all([s.commit(version(1, 'a'), undefined, draft), s.commit(version(1, 'b'), undefined, draft)]);
    assert.ok((a === undefined) !== (b === undefined), 'exactly one of two racing commits lands');
    assert.is(await s.head(), 1);
    assert.is((await s.version(1))!.text, a !== undefined ? 'a' : 'b');
    assert.is(await s.commit(version(3), undefined, draft), undefined, 'a gap is refused');
    const e = await s.commit(version(2), { text: 'v2', base: 2, revision: 5, updatedBy: 'admin', updatedAt: '' }, draft);
    assert.is(e!.version, 2, 'the audit event names the version');
    assert.equal((await s.versions()).map((v) => [v.version, v.message]), [[1, 'm1'], [2, 'm2']]);
    assert.is((await s.candidate())!.record.base, 2, 'the candidate is written with the commit');
    const log = await s.auditLog();
    assert.equal(log.map((x) => [x.seq, x.action, x.version]), [[1, 'config.commit', 1], [2, 'config.commit', 2]], 'the losing commit left no event');
    await s.close();
  });

  test('audit: concurrent writers get consecutive sequence numbers, nothing lost', async () => {
    const s = await open();
    const events = await Promise.all(Array.from({ length: 20 }, (_, i) => s.audit({ user: `u${i}`, action: 'login', result: 'refused' })));
    assert.equal(events.map((e) => e.seq).sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i + 1));
    const log = await s.auditLog();
    assert.is(log.length, 20);
    assert.equal(log.map((e) => e.seq), Array.from({ length: 20 }, (_, i) => i + 1), 'listed in order');
    assert.equal((await s.auditLog({ afterSeq: 17 })).map((e) => e.seq), [18, 19, 20]);
    assert.equal((await s.auditLog({ newest: true, limit: 2 })).map((e) => e.seq), [19, 20]);
    await s.close();
  });

  test('candidate, tokens and the CA: compare-and-set writes', async () => {
    const s = await open();
    const c = { text: 'x', base: 0, revision: 1, updatedBy: 'a', updatedAt: '' };
    assert.ok(await s.putCandidate(c, 0, { user: 'a', action: 'config.candidate', result: 'ok' }));
    assert.is(await s.putCandidate({ ...c, revision: 2 }, 0, { user: 'b', action: 'config.candidate', result: 'ok' }), undefined, 'stale revision refused');
    const token = { id: 't1', assetId: 'r1', secretHash: 'h', createdAt: '', expiresAt: '', createdBy: 'admin' };
    await s.createToken(token, { user: 'admin', action: 'token.create', result: 'ok', target: 'r1' });
    const asset = { assetId: 'r1', enrolledAt: new Date().toISOString(), fingerprint: 'f' };
    const [x, y] = await Promise.all([s.enrol(token, asset, { user: 'r1', action: 'enrol', result: 'ok' }), s.enrol(token, asset, { user: 'r1', action: 'enrol', result: 'ok' })]);
    assert.ok((x === undefined) !== (y === undefined), 'a token enrols once');
    assert.ok((await s.token('t1'))!.usedAt !== undefined);
    assert.equal((await s.assets()).map((a) => a.assetId), ['r1']);
    const [ca1, ca2] = await Promise.all([s.once('ca', () => ({ keyPem: 'k1', certPem: 'c1' })), s.once('ca', () => ({ keyPem: 'k2', certPem: 'c2' }))]);
    assert.equal(ca1, ca2, 'one CA for everyone');
    await s.close();
  });
}
