/**
 * The `svr` command line as the parser defines it, and the `svr ...` command lines the docs show: every long
 * option a doc writes after a command must be one that command's parser accepts, and docs/cli.md is every
 * command's `--help`, so each option the parser has is documented there.
 */
import type { Command } from 'commander';

/** One command of the tree: its path (`svr show sessions`), long options and subcommands. */
export interface CliCommand {
  path: string;
  options: Set<string>;
  subcommands: Map<string, CliCommand>;
}

export function cliTree(c: Command, parent = ''): CliCommand {
  const path = parent === '' ? c.name() : `${parent} ${c.name()}`;
  const options = new Set(c.options.flatMap((o) => (o.long === undefined ? [] : [o.long])));
  options.add('--help');
  const subcommands = new Map(c.commands.map((s) => [s.name(), cliTree(s, path)] as const));
  return { path, options, subcommands };
}

/** Every command with its parent first, in the parser's order. */
export function allCommands(root: CliCommand): CliCommand[] {
  return [root, ...[...root.subcommands.values()].flatMap(allCommands)];
}

/** A command line shown in a doc, where it is. */
export interface DocCommandLine {
  file: string;
  line: number;
  text: string;
}

/**
 * The `svr ...` command lines of one markdown text: in fenced blocks (lines joined at a trailing backslash) and
 * inline code spans, each cut at a shell comment, pipe, `&&`, `;`, an opening parenthesis or the next `svr`.
 */
export function svrCommandLines(file: string, markdown: string): DocCommandLine[] {
  const out: DocCommandLine[] = [];
  const lines = markdown.split('\n');
  let fenced = false;
  const take = (raw: string, line: number): void => {
    const text = raw.replace(/\\\|/g, '|'); // `rib\|fib` in a table cell
    for (const m of text.matchAll(/(?:^|[\s(`'"])c?svr\s+(?=[a-z-])/g)) { // csvr: conductor.md's alias
      const rest = text.slice(m.index + m[0].length);
      const cut = rest.split(/\s#|\s\|\s|&&|;|\|\||`|\s>\s|\s\(|\s(?=c?svr\s)/)[0]!; // a comment, pipe, list, prose in parentheses, the next command
      out.push({ file, line, text: `svr ${cut.trim().replace(/\s+/g, ' ')}` });
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^\s*```/.test(l)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) {
      let joined = l;
      const first = i;
      while (joined.endsWith('\\') && i + 1 < lines.length) joined = `${joined.slice(0, -1)} ${lines[++i]!}`;
      take(joined, first + 1);
    } else {
      for (const span of l.matchAll(/`([^`]+)`/g)) take(span[1]!, i + 1);
    }
  }
  return out;
}

/** What one doc command line names: the commands it reaches and the long options they do not accept. */
export interface CommandLineCheck {
  commands: string[];
  unknown: string[];
}

/**
 * Words that name subcommands lead down the tree (`show sessions|peers` reaches both); the first other word
 * ends the descent; each long option must be one every reached command accepts (`svr --version`), or each command
 * under it (`svr show <what> --socket S`).
 */
export function checkCommandLine(root: CliCommand, commandLine: string): CommandLineCheck {
  const words = commandLine.split(/\s+/).slice(1).map((w) => w.replace(/^[[(]+|[\]),.:]+$/g, ''));
  let at: CliCommand[] = [root];
  let named: CliCommand[] | undefined;
  const unknown: string[] = [];
  for (const w of words) {
    if (named === undefined && w !== '' && w !== 'help') {
      const names = w.startsWith('--') ? [] : w.split('|');
      const next = at.flatMap((c) => names.map((n) => c.subcommands.get(n)));
      if (next.length > 0 && next.every((c) => c !== undefined)) {
        at = next as CliCommand[];
        continue;
      }
      named = at;
      at = at.flatMap(leaves);
    }
    if (!w.startsWith('--')) continue;
    const flag = w.split('=')[0]!.replace(/[|[\]].*$/, '');
    if (named!.every((c) => c.options.has(flag))) continue;
    for (const c of at) if (!c.options.has(flag)) unknown.push(`${c.path} has no ${flag}`);
  }
  return { commands: (named ?? at).map((c) => c.path), unknown };
}

const leaves = (c: CliCommand): CliCommand[] => (c.subcommands.size === 0 ? [c] : [...c.subcommands.values()].flatMap(leaves));

/** docs/cli.md: each command's help as `--help` prints it, parent first. */
export function cliReference(program: Command): string {
  const sections: string[] = [];
  const visit = (c: Command, path: string): void => {
    let help = '';
    c.configureHelp({ helpWidth: 110 }).configureOutput({ writeOut: (s) => (help += s) });
    c.outputHelp(); // with the text commands add before and after the options (helpInformation() has none)
    sections.push(`## ${path}\n\n\`\`\`text\n${help.trimEnd()}\n\`\`\`\n`);
    for (const s of c.commands) visit(s, `${path} ${s.name()}`);
  };
  visit(program, program.name());
  return [
    '# The `svr` command line',
    '',
    '<!-- Generated from the parser by test/unit/house/cli-docs.test.ts: rewrite with',
    "     SVR_UPDATE_DOCS=1 node dist/test/support/run-tests.js 'unit/house/cli-docs\\.test\\.js$' -->",
    '',
    'Every command and option of `svr`, as its `--help` prints it (`svr help <command>` too). The guides say what',
    'each is for: [lab.md](lab.md), [real-hosts.md](real-hosts.md), [visibility.md](visibility.md),',
    '[conductor.md](conductor.md), [decode.md](decode.md), [routing.md](routing.md),',
    '[high-availability.md](high-availability.md).',
    '',
    ...sections,
  ].join('\n');
}
