/**
 * `svr lab demo`: up with a conductor (r1 and r2 enrolled by ZTP), the conductor's view of both routers,
 * then from the client namespace the page, a 10 MiB download checked against its X-Sha256, a UDP echo,
 * 5 s of iperf3; a commit at the conductor that removes the web service (the page is denied) and a
 * rollback that restores it; both routers' session tables; down (unless keep). Every step is reported;
 * the result is false when any failed (the lab is still torn down).
 */
import { labDown } from './down.js';
import { curlIn, iperfIn, udpProbeIn } from './fetch.js';
import type { Progress } from './netns.js';
import { checkPrefix, downHint } from './options.js';
import { run, runIn, sleep, svrScript } from './run.js';
import { conductorSessionPath, CONDUCTOR_ROLE } from './conductor.js';
import { DEFAULT_SHAPE } from './shape.js';
import { readyLabHost } from './setup.js';
import { CLIENT, ECHO_PORT, nsName, SERVER } from './topology.js';
import { labUp } from './up.js';

export interface DemoOptions {
  dir: string;
  prefix: string;
  keep: boolean;
  out: Progress;
}

interface StepResult {
  name: string;
  ok: boolean;
  ms: number;
  note: string;
}

const TEN_MIB = 10 * 1024 * 1024;

function indent(text: string): string {
  return text.trimEnd().split('\n').map((l) => `    ${l}`).join('\n');
}

export async function labDemo(opts: DemoOptions): Promise<boolean> {
  checkPrefix(opts.prefix);
  readyLabHost(['ip', 'iperf3', 'curl'], (l) => opts.out(l));
  const t0 = Date.now();
  const client = nsName(opts.prefix, 'client');
  const results: StepResult[] = [];
  let runDir = '';

  const step = async (name: string, title: string, fn: () => Promise<string>): Promise<boolean> => {
    opts.out(`==> ${title}`);
    const s = Date.now();
    try {
      const note = await fn();
      results.push({ name, ok: true, ms: Date.now() - s, note });
      if (note !== '') opts.out(`    ok: ${note}`);
      return true;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      results.push({ name, ok: false, ms: Date.now() - s, note: msg.split('\n')[0]! });
      opts.out(`    FAILED: ${msg.split('\n').join('\n    ')}`);
      return false;
    }
  };

  const conductorNs = nsName(opts.prefix, CONDUCTOR_ROLE);
  /** `svr ...` inside the conductor's namespace with the lab's session; its output is shown. */
  const csvr = async (args: string[]): Promise<string> => {
    const { stdout } = await runIn(conductorNs, process.execPath, [svrScript(), ...args], { env: { SVR_CONDUCTOR_SESSION: conductorSessionPath(opts.dir) } });
    opts.out(indent(stdout));
    return stdout;
  };
  const page = async (): Promise<number> => (await curlIn(client, `http://${SERVER}/`, { timeoutSec: 3 }).catch(() => ({ status: 0 }))).status;

  const up = await step('up', `svr lab up --conductor --prefix ${opts.prefix} --dir ${opts.dir}`, async () => {
    const st = await labUp({ dir: opts.dir, prefix: opts.prefix, shape: { ...DEFAULT_SHAPE, conductor: true }, progress: (l) => opts.out(`    ${l}`) });
    runDir = st.runDir;
    return '';
  });

  if (up) {
    await step('conductor', `svr conductor show routers (in ${conductorNs})`, async () => {
      for (let i = 0; ; i++) {
        const rows = JSON.parse((await runIn(conductorNs, process.execPath, [svrScript(), 'conductor', 'show', 'routers', '--json'], { env: { SVR_CONDUCTOR_SESSION: conductorSessionPath(opts.dir) } })).stdout) as { status: string }[];
        if (rows.length === 2 && rows.every((r) => r.status === 'synchronized')) break;
        if (i > 100) throw new Error('r1 and r2 were not synchronized with the conductor after 10 s');
        await sleep(100);
      }
      await csvr(['conductor', 'show', 'routers']);
      return 'r1 and r2 enrolled by one-time tokens, synchronized on version 1';
    });
    await step('page', `GET http://${SERVER}/ from ${client}`, async () => {
      const d = await curlIn(client, `http://${SERVER}/`, { keepBody: true, timeoutSec: 10 });
      if (d.status !== 200) throw new Error(`HTTP ${d.status}`);
      const title = /<h1>([^<]*)<\/h1>/.exec(d.body ?? '')?.[1] ?? '(no title)';
      const seen = d.headers['x-client-address'];
      if (seen !== CLIENT) throw new Error(`the server saw the client as ${seen}, expected ${CLIENT}`);
      return `HTTP 200, ${d.bytes} bytes, "${title}"; the server saw the client as ${seen}`;
    });
    await step('download', `GET http://${SERVER}/bytes/${TEN_MIB} (10 MiB) from ${client}, sha256 checked`, async () => {
      const d = await curlIn(client, `http://${SERVER}/bytes/${TEN_MIB}`, { timeoutSec: 120 });
      const want = d.headers['x-sha256'];
      const rate = `${((d.bytes * 8) / (d.ms / 1000) / 1e6).toFixed(0)} Mbit/s`;
      if (d.status !== 200 || d.bytes !== TEN_MIB) throw new Error(`HTTP ${d.status}, ${d.bytes} of ${TEN_MIB} bytes`);
      if (want !== d.sha256) throw new Error(`sha256 mismatch: got ${d.sha256}, X-Sha256 ${want}`);
      return `sha256 ok (${d.sha256.slice(0, 16)}...), ${d.bytes} bytes in ${(d.ms / 1000).toFixed(2)} s (${rate})`;
    });
    await step('udp', `UDP echo: svr lab udp-probe ${SERVER} ${ECHO_PORT} "hello" in ${client}`, async () => {
      return (await udpProbeIn(client, SERVER, ECHO_PORT, 'hello')).trim();
    });
    await step('iperf3', `iperf3 -c ${SERVER} -t 5 (TCP) in ${client}`, async () => {
      const r = await iperfIn(client, SERVER, 5);
      return `${(r.bitsPerSecond / 1e9).toFixed(2)} Gbit/s received, ${r.retransmits} retransmits`;
    });
    await step('commit', 'svr config delete services[web] (and its routes); svr config commit: the page is denied', async () => {
      for (const path of ['services[web]', 'routers[r1].service-routes[web-via-r2]', 'routers[r2].service-routes[web-local]']) await csvr(['config', 'delete', path]);
      await csvr(['config', 'commit', '-m', 'demo: no web']);
      const status = await page();
      if (status !== 0) throw new Error(`the page answered HTTP ${status} after the web service was removed`);
      return 'version 2 on both routers: the client\'s HTTP request is dropped (no service)';
    });
    await step('rollback', 'svr config rollback 1: the page is back', async () => {
      await csvr(['config', 'rollback', '1', '-m', 'demo: web again']);
      const status = await page();
      if (status !== 200) throw new Error(`the page answered ${status === 0 ? 'nothing' : `HTTP ${status}`} after the rollback`);
      await csvr(['config', 'versions']);
      return 'version 3 (the config of version 1) on both routers: HTTP 200';
    });
    for (const node of ['r1', 'r2']) {
      await step(`sessions ${node}`, `svr show sessions --node ${node}`, async () => {
        const { stdout } = await run(process.execPath, [svrScript(), 'show', 'sessions', '--node', node], { env: { SVR_RUN_DIR: runDir } });
        opts.out(indent(stdout));
        return '';
      });
    }
  }

  if (!opts.keep || !up) {
    await step('down', 'svr lab down', async () => {
      await labDown({ dir: opts.dir, prefix: opts.prefix, progress: (l) => opts.out(`    ${l}`) });
      return '';
    });
  } else {
    opts.out(`==> keeping the lab up (--keep); \`${downHint(opts.dir, opts.prefix)}\` removes it`);
  }

  const ok = results.every((r) => r.ok);
  opts.out('');
  opts.out('summary:');
  const w = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    opts.out(`  ${r.name.padEnd(w)}  ${r.ok ? 'ok    ' : 'FAILED'}  ${(r.ms / 1000).toFixed(1).padStart(5)} s  ${r.note}`);
  }
  opts.out(`demo ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return ok;
}
