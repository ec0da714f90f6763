/**
 * docs/embedding.md's event table is `events$`: one row per event type of RouterEvent (src/control/events.ts),
 * and the reasons it lists for `session.denied`, `session.removed` and `session.migrated` are the data path's
 * (DENY_REASONS, CLOSE_REASONS, MigrationReason in src/dataplane/events.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLOSE_REASONS, DENY_REASONS } from '../../../src/dataplane/events.js';
import { findPackageRoot } from '../../../src/native/addon.js';

const root = findPackageRoot();
const doc = readFileSync(join(root, 'docs', 'embedding.md'), 'utf8');
const rows = doc.slice(doc.indexOf('## Events')).split('\n').filter((l) => /^\| `[a-z]+\.[a-z.-]+`/.test(l));

/** The backticked names of a row's first cell (`path.up` / `path.down`: both). */
const typesOf = (row: string): string[] => [...row.split(' | ')[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
/** The backticked values inside `reason (...)` of a row's fields cell. */
function reasonsOf(type: string): string[] {
  const row = rows.find((r) => typesOf(r).includes(type));
  const m = /`reason` \(((?:[^()]|\([^()]*\))*)\)/.exec(row?.split(' | ')[1] ?? '');
  return m === null ? [] : [...m[1]!.matchAll(/`([^`]+)`/g)].map((x) => x[1]!);
}

test('the event table has one row per event type, and no other', () => {
  const src = readFileSync(join(root, 'src', 'control', 'events.ts'), 'utf8');
  const types = [...src.matchAll(/^\s+type: '([a-z]+\.[a-z.-]+)';/gm)].map((m) => m[1]!);
  assert.ok(types.length > 10);
  assert.equal(rows.flatMap(typesOf).sort(), [...types].sort());
});

test('the reasons the table lists are the data path\'s', () => {
  assert.equal(reasonsOf('session.denied'), [...DENY_REASONS]);
  assert.equal(reasonsOf('session.removed'), [...CLOSE_REASONS]);
  const migration = /export type MigrationReason = ([^;]+);/.exec(readFileSync(join(root, 'src', 'dataplane', 'events.ts'), 'utf8'))![1]!;
  assert.equal(reasonsOf('session.migrated'), [...migration.matchAll(/'([^']+)'/g)].map((m) => m[1]!));
});

test.run();
