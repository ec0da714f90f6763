import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkPluginCompliance } from '../../src/plugins/compliance.js';
import { definePlugin } from '../../src/plugins/api.js';

test('the example plugin passes the stage compliance suite', async () => {
  const mod = (await import(new URL('../../../examples/plugin-session-tagger/index.js', import.meta.url).href)) as { default: Parameters<typeof checkPluginCompliance>[0] };
  const report = await checkPluginCompliance(mod.default, { tag: 9 });
  assert.equal(report.stages, ['example.session-tagger/tag']);
  assert.ok(report.ok, report.failures.join('\n'));
  assert.equal(report.checked, ['example.session-tagger/tag']);
});

test('the suite catches what it must: a missing outcome, a slot outside the frame, allocation per packet', async () => {
  const bad = definePlugin({
    name: 'test.bad', version: '1.0.0', api: '^1',
    dataplane(ctx) {
      ctx.addStage({ name: 'forgets', run(_b, f, rt) { for (let k = 1; k < f.n; k++) rt.next[f.slot[k]!] = ctx.PASS; } });
      ctx.addStage({ name: 'overreaches', run(b, _f, rt) { for (let s = 0; s < b.count; s++) rt.next[s] = ctx.PASS; } });
      const keep: unknown[] = [];
      ctx.addStage({ name: 'allocates', run(_b, f, rt) {
        for (let k = 0; k < f.n; k++) { keep.push({ slot: f.slot[k] }); rt.next[f.slot[k]!] = ctx.PASS; }
      } });
    },
  });
  const report = await checkPluginCompliance(bad);
  assert.not.ok(report.ok);
  assert.ok(report.failures.some((x) => x.startsWith('test.bad/forgets: slot 0 got outcome 255')), report.failures.join('\n'));
  assert.ok(report.failures.some((x) => x.startsWith('test.bad/overreaches: wrote an outcome for slot 1')));
  assert.ok(report.failures.some((x) => x.startsWith('test.bad/allocates: heap grew')));
});

test.run();
