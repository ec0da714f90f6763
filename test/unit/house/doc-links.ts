/**
 * Links between the package's markdown files: each relative link names a file that exists, and each `#anchor`
 * a heading of that file, slugged as GitHub does (lower case; letters, digits, `-`, `_` and spaces kept;
 * each space a `-`; a repeated heading gets `-1`, `-2`, ...).
 */
import { dirname, relative, resolve } from 'node:path';

/** A heading's anchor as GitHub makes it, before duplicates are numbered. */
export function slug(heading: string): string {
  const text = heading.replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').trim().toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M}\- _]/gu, '').replace(/ /g, '-');
}

/** The anchors of one markdown text: its headings' slugs (duplicates numbered) and explicit `<a id>`/`name`s. */
export function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const l of withoutFences(markdown)) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
    if (h !== null) {
      const base = slug(h[1]!);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      out.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const a of l.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(a[1]!);
  }
  return out;
}

/** A link in a markdown text: its target and where it is. */
export interface DocLink {
  line: number;
  target: string;
}

/** The links of one markdown text outside fenced blocks and inline code (web, mail and in-page-only kept too). */
export function links(markdown: string): DocLink[] {
  const out: DocLink[] = [];
  withoutFences(markdown).forEach((l, i) => {
    const prose = l.replace(/`[^`]*`/g, '');
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ line: i + 1, target: m[1]! });
  });
  return out;
}

/** The lines of a markdown text, those inside fenced blocks emptied (line numbers stay). */
function withoutFences(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((l) => {
    if (/^\s*```/.test(l)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : l;
  });
}

/** How the check reads the tree: a file's text (undefined when there is no such file or it is not a file). */
export type ReadFile = (path: string) => string | undefined;

/**
 * The broken links of these markdown files (absolute paths under `root`), as `file:line: target (why)`.
 * Targets outside `root` (`../shared/...`) and on the web are not followed.
 */
export function brokenLinks(root: string, files: readonly string[], read: ReadFile, exists: (path: string) => boolean): string[] {
  const anchorsOf = new Map<string, Set<string>>();
  const anchorsIn = (file: string): Set<string> => {
    let a = anchorsOf.get(file);
    if (a === undefined) anchorsOf.set(file, (a = anchors(read(file) ?? '')));
    return a;
  };
  const bad: string[] = [];
  for (const file of files) {
    for (const l of links(read(file) ?? '')) {
      if (/^[a-z][a-z+.-]*:/i.test(l.target)) continue; // https:, mailto:
      const [path, anchor] = l.target.split('#') as [string, string | undefined];
      const target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
      if (relative(root, target).startsWith('..')) continue;
      const where = `${relative(root, file)}:${l.line}: ${l.target}`;
      if (!exists(target)) bad.push(`${where} (no such file)`);
      else if (anchor !== undefined && anchor !== '' && target.endsWith('.md') && !anchorsIn(target).has(decodeURIComponent(anchor))) {
        bad.push(`${where} (no heading with that anchor)`);
      }
    }
  }
  return bad;
}

/** Paths into the package a markdown text names (`src/...`, `native/...`, `bench/...`, ...), with their lines; globs and placeholders left out. */
export function repoPaths(markdown: string): DocLink[] {
  const out: DocLink[] = [];
  markdown.split('\n').forEach((l, i) => {
    for (const m of l.matchAll(/(?<![\w./-])((?:src|native|bench|test|examples|docs|bin|ui|\.ci)\/[\w./*<>-]*\w)/g)) {
      if (!/[*<>]/.test(m[1]!)) out.push({ line: i + 1, target: m[1]! });
    }
  });
  return out;
}

/** Lower case, without backticks, asterisks, comment leaders and line breaks: headings and references compare so. */
const flat = (s: string): string => s.replace(/\s*\n\s*(?:\*|\/\/)?\s*/g, ' ').replace(/[`*]/g, '').trim().toLowerCase();

/** What a reference by name can point at in a markdown text: its headings and its bold paragraph leads (`**Title.**`). */
export function sectionTitles(markdown: string): string[] {
  const heads = withoutFences(markdown).flatMap((l) => (/^#{1,6}\s/.test(l) ? [l.replace(/^#+\s*/, '')] : []));
  const leads = [...markdown.matchAll(/\*\*([^*\n]{3,120})\*\*/g)].map((m) => m[1]!);
  return [...heads, ...leads].map(flat);
}

/** References to a doc's section by name in a text: `docs/x.md "Title"` (also `docs/x.md, "Title"`), with their lines. */
export function sectionRefs(text: string): Array<DocLink & { title: string }> {
  return [...text.matchAll(/(?<![\w./])(docs\/[\w.-]+\.md),? ?"([^"]{3,120})"/g)].map((m) => ({
    line: text.slice(0, m.index).split('\n').length, target: m[1]!, title: flat(m[2]!),
  }));
}

/** Whether `title` names one of `titles`: the start of one, or inside one. */
export const namesSection = (titles: readonly string[], title: string): boolean => titles.some((t) => t.startsWith(title) || t.includes(title));
