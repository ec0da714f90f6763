import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { isSvrError } from '../../../src/errors.js';
import { unifiedDiff } from '../../../src/conductor/config/diff.js';
import { deletePath, getPath, parsePath, setPath } from '../../../src/conductor/config/edit.js';
import { withGeneratedConfig } from '../../../src/conductor/config/generate.js';
import { checkSlice, routerSlices } from '../../../src/conductor/config/slice.js';
import { compileRouter } from '../../../src/model/compile.js';
import { parseConfig } from '../../../src/model/validate.js';
import { hubAndSpokes } from '../model/helpers.js';

type Obj = Record<string, any>;

const yamlOf = (a: Obj) => `# the authority\n${stringify({ authority: a })}`;

function throwsCode(fn: () => unknown, code: string, fragment = ''): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isSvrError(e), String(e));
    assert.is(e.code, code, e.message);
    assert.ok(e.message.includes(fragment), `${e.message} should include ${fragment}`);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('generation: 1 hub + 3 spokes -> hub 3 generated adjacencies, each spoke 1, none spoke<->spoke; comments kept', () => {
  const { text, config } = withGeneratedConfig(yamlOf(hubAndSpokes(3)));
  assert.ok(text.startsWith('# the authority\n'), 'the comment stays');
  const adj = (r: number) => config.authority.routers[r]!.interfaces[1]!.adjacencies!.map((x) => `${x.peer}/${x.interface}:${x.neighborhood}:${x.generated}`);
  assert.equal(adj(0), ['s1/wan0:wan:true', 's2/wan0:wan:true', 's3/wan0:wan:true']);
  for (const r of [1, 2, 3]) assert.equal(adj(r), ['hub/wan0:wan:true']);
  assert.is(config.authority.routers[0]!.interfaces[0]!.adjacencies, undefined, 'lan interfaces get none');
  assert.is(withGeneratedConfig(text).text, text, 'regenerating is stable');
  const slices = routerSlices(config);
  const hub = parseConfig(slices.get('hub')!.text);
  assert.equal(hub.authority.routers.map((r) => r.name), ['hub', 's1', 's2', 's3']);
  const s2 = parseConfig(slices.get('s2')!.text);
  assert.equal(s2.authority.routers.map((r) => r.name), ['s2', 'hub'], 'a spoke learns only of the hub');
  assert.equal(s2.authority.routers[1]!.interfaces.map((i) => i.name), ['wan0'], 'of a peer only its path ends');
  assert.equal(s2.authority.routers[1]!.interfaces[0]!.adjacencies!.map((x) => x.peer), ['s2'], 'and only its adjacency back');
  assert.equal(compileRouter(s2, 's2', 1).peers.map((p) => p.name), ['hub']);
  assert.equal(compileRouter(hub, 'hub', 1).paths.map((p) => p.name), ['wan0->s1/wan0', 'wan0->s2/wan0', 'wan0->s3/wan0']);
  assert.match(slices.get('s1')!.hash, /^[0-9a-f]{64}$/);
});

test('generation: generated adjacencies are replaced on each commit; one an operator wrote is kept', () => {
  const first = withGeneratedConfig(yamlOf(hubAndSpokes(2))).text;
  // an operator edits a generated adjacency without clearing the flag: it is regenerated
  const edited = setPath(first, 'routers[hub].interfaces[wan0].adjacencies[0].neighborhood', 'other');
  const again = withGeneratedConfig(edited).config;
  assert.equal(again.authority.routers[0]!.interfaces[1]!.adjacencies!.map((x) => x.neighborhood), ['wan', 'wan']);
  // an operator's own adjacency (generated false) stays, and none is generated for the same peer interface
  const owned = setPath(first, 'routers[hub].interfaces[wan0].adjacencies[0].generated', false);
  const kept = withGeneratedConfig(owned).config.authority.routers[0]!.interfaces[1]!.adjacencies!;
  assert.equal(kept.map((x) => [x.peer, x.generated]), [['s1', false], ['s2', true]]);
  // a topology change regenerates: s2 becomes a hub -> no path hub<->s2, a new one s1<->s2
  const changed = setPath(first, 'routers[s2].interfaces[wan0].neighborhoods[wan].topology', 'hub');
  const out = withGeneratedConfig(changed).config;
  assert.equal(out.authority.routers[0]!.interfaces[1]!.adjacencies!.map((x) => x.peer), ['s1']);
  assert.equal(out.authority.routers[2]!.interfaces[1]!.adjacencies!.map((x) => x.peer), ['s1']);
  // with no paths at all the list is removed
  const alone = withGeneratedConfig(setPath(first, 'routers[s2].interfaces[wan0].neighborhoods[wan].name', 'elsewhere')).config;
  assert.is(alone.authority.routers[2]!.interfaces[1]!.adjacencies, undefined);
});

test('slices: services by applies-to (the field itself is not sent), secrets of the authority', () => {
  const a = hubAndSpokes(2);
  a.tenants = [{ name: 'eng', members: ['10.1.0.0/16'] }];
  a.routers[1]['router-groups'] = ['east'];
  a.services = [
    { name: 'all', addresses: ['10.9.1.0/24'], 'access-policy': [{ source: 'eng' }] },
    { name: 'east', addresses: ['10.9.3.0/24'], 'access-policy': [{ source: 'eng' }], 'applies-to': [{ type: 'router-group', groups: ['east'] }] },
  ];
  const slices = routerSlices(withGeneratedConfig(yamlOf(a)).config);
  const services = (r: string) => parseConfig(slices.get(r)!.text).authority.services.map((s) => [s.name, s.appliesTo]);
  assert.equal(services('s1'), [['all', undefined], ['east', undefined]]);
  assert.equal(services('s2'), [['all', undefined]]);
  assert.equal(services('hub'), [['all', undefined]]);
  assert.is(parseConfig(slices.get('s1')!.text).authority.secret, a.secret);
  throwsCode(() => checkSlice(slices.get('s1')!.text, 's9'), 'SVR_ERR_CONFIG_ROUTER');
});

test('generation refuses an invalid candidate with field paths, before generating anything', () => {
  const a = hubAndSpokes(1);
  a.services = [{ name: 'web', addresses: ['10.9.0.0/16'], 'access-policy': [{ source: 'nobody' }] }];
  throwsCode(() => withGeneratedConfig(yamlOf(a)), 'SVR_ERR_CONFIG_INVALID', 'authority.services[0].access-policy[0].source: unknown tenant "nobody"');
});

test('edit: paths by name or index, set appends named elements, delete removes, comments survive', () => {
  assert.equal(parsePath('services[web].addresses'), [{ key: 'authority' }, { key: 'services' }, { name: 'web' }, { key: 'addresses' }]);
  assert.equal(parsePath('authority.routers[0].name'), [{ key: 'authority' }, { key: 'routers' }, { index: 0 }, { key: 'name' }]);
  for (const bad of ['', 'a..b', 'a[]', '[0]', 'a b', 'a.']) throwsCode(() => parsePath(bad), 'SVR_ERR_CONDUCTOR_PATH');
  const text = '# keep me\nauthority:\n  name: a\n  services:\n    - name: web # the web\n      addresses: [198.18.3.0/24]\n';
  const added = setPath(text, 'services[db]', { addresses: ['198.18.4.0/24'] });
  assert.equal(getPath(added, 'services[db]'), { name: 'db', addresses: ['198.18.4.0/24'] });
  assert.ok(added.includes('# keep me') && added.includes('# the web'));
  const changed = setPath(added, 'authority.services[web].addresses', ['198.18.9.0/24']);
  assert.equal(getPath(changed, 'services[web].addresses'), ['198.18.9.0/24']);
  assert.equal(getPath(deletePath(changed, 'services[web]'), 'services'), [{ name: 'db', addresses: ['198.18.4.0/24'] }]);
  throwsCode(() => deletePath(text, 'services[nope]'), 'SVR_ERR_CONDUCTOR_PATH', 'no element named "nope" (names: web)');
  throwsCode(() => deletePath(text, 'services[3]'), 'SVR_ERR_CONDUCTOR_PATH', 'index 3 is past the end');
  throwsCode(() => setPath('authority: [1', 'name', 'x'), 'SVR_ERR_CONFIG_PARSE');
});

test('diff: unified, with context and line ranges', () => {
  const a = 'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n';
  const b = 'one\ntwo\nthree\nFOUR\nfive\nsix\nseven\neight\nnine\nten\neleven\n';
  assert.is(unifiedDiff(a, a), '');
  assert.is(unifiedDiff(a, b, 'version 1', 'version 2'), [
    '--- version 1', '+++ version 2',
    '@@ -1,7 +1,7 @@', ' one', ' two', ' three', '-four', '+FOUR', ' five', ' six', ' seven',
    '@@ -8,3 +8,4 @@', ' eight', ' nine', ' ten', '+eleven', '',
  ].join('\n'));
  assert.is(unifiedDiff('', 'x\n'), '--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n');
});

test.run();
