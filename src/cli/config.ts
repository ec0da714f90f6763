/**
 * `svr config ...`: the conductor's config lifecycle from the command line (the same API the web UI and
 * REST clients use): show, edit, set, delete, validate, commit, compare, rollback, export, import,
 * versions, revert. Needs `svr conductor login` first.
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { isSvrError, SvrError } from '../errors.js';
import { parseValue } from '../conductor/config/edit.js';
import type { CandidateView, CommitResult, ValidateResult } from '../conductor/lifecycle.js';
import type { VersionSummary } from '../conductor/store/authority-store.js';
import { api } from './conductor-client.js';
import { renderTable } from '../util/text-table.js';

function fail(cmd: string, e: unknown): void {
  if (!isSvrError(e)) throw e;
  process.stderr.write(`svr config ${cmd}: ${e.message}\n`);
  process.exitCode = 1;
}

const out = (s: string) => process.stdout.write(s.endsWith('\n') || s === '' ? s : `${s}\n`);

/** `running`, `candidate` or a version number. */
function ref(value: string): string {
  if (value === 'running' || value === 'candidate' || /^\d+$/.test(value)) return value;
  throw new SvrError('SVR_ERR_CLI_OPTION', `"${value}": expected running, candidate or a version number`);
}

function commitLine(r: CommitResult): string {
  return `committed version ${r.version}; routers: ${Object.entries(r.routers).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`;
}

function action<A extends unknown[]>(name: string, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      fail(name, e);
    }
  };
}

export function registerConfig(program: Command): void {
  const config = program.command('config').summary('edit, validate, commit, compare and roll back the conductor\'s config').description(
    'The conductor\'s config: one candidate, edited by path or in an editor; validate; commit (every connected router prepares it, then all activate it, or none); versions with author, time, message and diff; compare; rollback; export/import. Log in first: svr conductor login.',
  );

  config.command('show')
    .description('print the candidate (or running, or a version), or the value at a path')
    .argument('[path]', 'e.g. authority.services[web] (names select list elements; `authority.` may be left out)')
    .option('--which <ref>', 'candidate, running or a version number', 'candidate')
    .action(action('show', async (path: string | undefined, o: { which: string }) => {
      if (path === undefined) out((await api<{ text: string }>('GET', `/api/v1/config/export?which=${ref(o.which)}`)).text);
      else out(stringify((await api<{ value: unknown }>('GET', `/api/v1/config/value?which=${ref(o.which)}&path=${encodeURIComponent(path)}`)).value));
    }));

  config.command('set')
    .description('set a field of the candidate (a YAML value); a [name] no element has adds one')
    .argument('<path>', 'e.g. services[db] or routers[r1].interfaces[wan0].neighborhoods[0].topology')
    .argument('<value>', 'YAML: 80, [198.18.3.0/24], "{ addresses: [198.18.4.0/24] }"')
    .action(action('set', async (path: string, value: string) => {
      const c = await api<CandidateView>('PATCH', '/api/v1/config/candidate', { set: path, value: parseValue(value) });
      out(`candidate revision ${c.revision}${c.changed ? ' (differs from running)' : ''}`);
    }));

  config.command('delete')
    .description('delete a field or list element of the candidate')
    .argument('<path>')
    .action(action('delete', async (path: string) => {
      const c = await api<CandidateView>('PATCH', '/api/v1/config/candidate', { delete: path });
      out(`candidate revision ${c.revision}${c.changed ? ' (differs from running)' : ''}`);
    }));

  config.command('edit')
    .description('edit the candidate in $EDITOR (then it is validated; commit with svr config commit)')
    .action(action('edit', async () => {
      const c = await api<CandidateView>('GET', '/api/v1/config/candidate');
      const dir = mkdtempSync(join(tmpdir(), 'svr-edit-'));
      const file = join(dir, 'candidate.yaml');
      try {
        writeFileSync(file, c.text);
        const editor = process.env['VISUAL'] ?? process.env['EDITOR'] ?? 'vi';
        const r = spawnSync(editor, [file], { stdio: 'inherit', shell: /\s/.test(editor) });
        if (r.status !== 0) throw new SvrError('SVR_ERR_CLI_OPTION', `${editor} exited with ${r.status ?? r.signal}; the candidate is unchanged`);
        const text = readFileSync(file, 'utf8');
        if (text === c.text) {
          out('no change');
          return;
        }
        const next = await api<CandidateView>('PUT', '/api/v1/config/candidate', { text, revision: c.revision });
        const v = await api<ValidateResult>('POST', '/api/v1/config/validate', {});
        out(`candidate revision ${next.revision}: ${v.message}`);
        if (!v.valid) process.exitCode = 1;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }));

  config.command('validate')
    .description('validate the candidate (or a file) as a commit would: field paths, then every router\'s slice')
    .argument('[file]')
    .action(action('validate', async (file: string | undefined) => {
      const v = await api<ValidateResult>('POST', '/api/v1/config/validate', file === undefined ? {} : { text: readFileSync(file, 'utf8') });
      out(v.message);
      if (!v.valid) process.exitCode = 1;
    }));

  config.command('commit')
    .description('commit the candidate (all connected routers activate it, or none does)')
    .requiredOption('-m, --message <text>', 'what changed and why')
    .action(action('commit', async (o: { message: string }) => {
      const c = await api<CandidateView>('GET', '/api/v1/config/candidate');
      out(commitLine(await api<CommitResult>('POST', '/api/v1/config/commit', { message: o.message, basedOn: c.base })));
    }));

  config.command('compare')
    .description('unified diff between two of: running, candidate, a version number')
    .argument('[a]', '', 'running')
    .argument('[b]', '', 'candidate')
    .action(action('compare', async (a: string, b: string) => {
      const { diff } = await api<{ diff: string }>('GET', `/api/v1/config/compare?a=${ref(a)}&b=${ref(b)}`);
      out(diff === '' ? `no difference between ${a} and ${b}` : diff);
    }));

  config.command('rollback')
    .description('commit the config of a stored version as a new version')
    .argument('<version>')
    .option('-m, --message <text>', 'default: rollback to version N')
    .action(action('rollback', async (version: string, o: { message?: string }) => {
      const body: Record<string, unknown> = { version: Number(ref(version)) };
      if (o.message !== undefined) body['message'] = o.message;
      out(commitLine(await api<CommitResult>('POST', '/api/v1/config/rollback', body)));
    }));

  config.command('export')
    .description('print (or write) the running config, the candidate or a version')
    .option('--which <ref>', 'running, candidate or a version number', 'running')
    .option('-o, --output <file>', 'write to a file')
    .action(action('export', async (o: { which: string; output?: string }) => {
      const { text } = await api<{ text: string }>('GET', `/api/v1/config/export?which=${ref(o.which)}`);
      if (o.output === undefined) out(text);
      else writeFileSync(o.output, text);
    }));

  config.command('import')
    .description('replace the candidate with a file (validate and commit it after)')
    .argument('<file>')
    .action(action('import', async (file: string) => {
      const c = await api<CandidateView>('PUT', '/api/v1/config/candidate', { text: readFileSync(file, 'utf8') });
      const v = await api<ValidateResult>('POST', '/api/v1/config/validate', {});
      out(`candidate revision ${c.revision} from ${file}: ${v.message}`);
      if (!v.valid) process.exitCode = 1;
    }));

  config.command('revert')
    .description('discard the candidate\'s edits (it becomes the running config again)')
    .action(action('revert', async () => {
      const c = await api<CandidateView>('POST', '/api/v1/config/candidate/revert', {});
      out(`candidate revision ${c.revision} is the running config (version ${c.base})`);
    }));

  config.command('versions')
    .description('committed versions: author, time, message')
    .option('--json', 'print JSON')
    .action(action('versions', async (o: { json?: boolean }) => {
      const v = await api<VersionSummary[]>('GET', '/api/v1/config/versions');
      out(o.json === true ? JSON.stringify(v, null, 2) : renderTable(['VERSION', 'TIME', 'AUTHOR', 'MESSAGE'], v.map((x) => [x.version, x.time, x.author, x.rollbackOf === undefined ? x.message : `${x.message} (rollback of ${x.rollbackOf})`])));
    }));
}
