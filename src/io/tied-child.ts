/**
 * Children that end with this process, however it ends (SIGKILL included; docs/high-availability.md "Shared
 * addresses"): each runs under a small `sh` whose stdin is a pipe from this process. The kernel closes the pipe
 * when this process dies, the shell's `read` returns, and the shell stops the child and runs its `ip` commands
 * for the end (e.g. `ip addr del` of a pair's shared addresses, so that a dead node's kernel stops answering ARP
 * for them). No PR_SET_PDEATHSIG (whose race, a parent dead before the child's prctl, this has not) and no native
 * code. The shell is in its own session (setsid): a signal to this process's group (a terminal's Ctrl-C, a kill
 * of the group) does not end it before its commands. Cost: one idle `sh` per tie, a few hundred KB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { SvrError } from '../errors.js';

// the child in the background (stdin /dev/null: not our pipe), wait for the pipe's end, stop it, run the end's commands
const SCRIPT = [
  'c=',
  'if [ "$#" -gt 0 ]; then "$@" & c=$!; fi',
  'read -r _ || true',
  'if [ -n "$c" ]; then kill "$c" 2>/dev/null; fi',
  'if [ -n "$SVR_IP_AT_EXIT" ]; then printf "%s\\n" "$SVR_IP_AT_EXIT" | ip -force -batch - >/dev/null 2>&1; fi',
].join('\n');

export interface TiedOptions {
  /** `ip` commands (as for `ip -batch`, one array each) run when this process ends or `end()` is called; a
   *  failing one does not stop the rest (`ip -force`) */
  atExitIp?: readonly (readonly string[])[];
  /** the child's stdout: a pipe to this process (`tied.stdout`), or nowhere */
  stdout?: 'pipe' | 'ignore';
}

export interface Tied {
  /** the shell (its pid is not the child's) */
  readonly shell: ChildProcess;
  /** the child's stdout, with `stdout: 'pipe'` */
  readonly stdout: NodeJS.ReadableStream | null;
  /** Ends the tie now, as this process's death would: the child stopped, the end's commands run. Idempotent. */
  end(): void;
}

/** Runs `argv` (none: only the end's commands wait) tied to this process's life. */
export function spawnTied(argv: readonly string[], o: TiedOptions = {}): Tied {
  const atExit = o.atExitIp ?? [];
  for (const c of atExit) {
    if (c.some((a) => a === '' || /\s|"|'|\\/.test(a))) throw new SvrError('SVR_ERR_IO_TUN_LINK', `tied child: an argument of \`ip ${c.join(' ')}\` is empty or has white space or quotes`);
  }
  const shell = spawn('sh', ['-c', SCRIPT, 'sh', ...argv], {
    stdio: ['pipe', o.stdout ?? 'ignore', 'ignore'],
    detached: true,
    env: { ...process.env, SVR_IP_AT_EXIT: atExit.map((c) => c.join(' ')).join('\n') },
  });
  // neither the shell nor our end of its pipes keeps this process alive
  shell.unref();
  (shell.stdin as Socket | null)?.unref();
  (shell.stdout as Socket | null)?.unref();
  shell.stdin?.on('error', () => {}); // the shell gone first: nothing to end
  let ended = false;
  return {
    shell,
    stdout: shell.stdout,
    end: () => {
      if (ended) return;
      ended = true;
      shell.stdin?.end();
    },
  };
}
