/**
 * The hub case reads the hub's path events from its log (bench/hub.ts pathEvents): lines written by the node's
 * own logger (node/log.ts), so a change of the log format fails here rather than as "no path up" in a run.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeLog } from '../../../src/node/log.js';
import { pathEvents } from '../../../bench/hub.js';
import { hubConfigYaml, spokeName, spokeWaypoint } from '../../../bench/hub-config.js';
import { parseConfig } from '../../../src/model/validate.js';
import { compileRouter } from '../../../src/model/compile.js';

test('pathEvents reads the path.usable / path.unusable lines the node logs', () => {
  const lines: string[] = [];
  const log = new NodeLog('hub', 'text', (l) => lines.push(l));
  log.info('path.usable', { path: 'wan0->spoke-0001/wan0', bfd: 'up', reason: 'bfd-up' });
  log.info('peer.reachable', { peer: 'spoke-0001' });
  log.info('path.unusable', { path: 'wan1->spoke-0002/wan1', bfd: 'down', reason: 'detection-time-expired' });
  const events = pathEvents(lines.join('\n'));
  assert.equal(events.map((e) => [e.path, e.usable, e.reason]), [['wan0->spoke-0001/wan0', true, 'bfd-up'], ['wan1->spoke-0002/wan1', false, 'detection-time-expired']]);
  assert.ok(Math.abs(events[0]!.atMs - Date.now()) < 5000);
});

test('the hub config: 2 paths per spoke, each to its own spoke waypoint, spokes not peered with each other', () => {
  const config = parseConfig(hubConfigYaml(3, 'ab'.repeat(32)));
  const hub = compileRouter(config, 'hub', 0);
  assert.is(hub.paths.length, 6);
  assert.equal(hub.peers.map((p) => p.name), [spokeName(0), spokeName(1), spokeName(2)]);
  assert.equal(new Set(hub.paths.map((p) => p.remoteWaypoint.join('.'))).size, 6);
  assert.is(hub.paths.find((p) => p.name === 'wan1->spoke-0002/wan1')!.remoteWaypoint.join('.'), spokeWaypoint(1, 1));
  assert.is(compileRouter(config, spokeName(0), 0).paths.length, 2, 'a spoke peers with the hub only');
});

test.run();
