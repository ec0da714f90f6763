/**
 * The API report: the public surface of the package (every entry point of package.json `exports`) as its
 * declarations, read from the emitted .d.ts files with the TypeScript checker. For each entry point, every
 * export with its declaration (no comments, one blank-line-separated block each); then the types those
 * declarations use that the package declares but no entry point exports (a public method returning such a
 * type is a leak the test reports). docs/api-report.md is the committed copy: a change to the public
 * surface shows in review as a change to that file.
 */
import ts from 'typescript';
import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface EntryPoint {
  /** the import specifier users write: 'svrouter', 'svrouter/plugins', ... */
  specifier: string;
  /** its declaration file */
  dts: string;
}

/** The entry points of package.json `exports` (a `*` pattern expands to every built-in plugin). */
export function entryPoints(root: string): EntryPoint[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { types?: string }> };
  const out: EntryPoint[] = [];
  for (const [sub, target] of Object.entries(pkg.exports)) {
    const types = typeof target === 'string' ? undefined : target.types;
    if (types === undefined) continue;
    const specifier = sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
    if (!sub.includes('*')) {
      out.push({ specifier, dts: join(root, types) });
      continue;
    }
    const [before, after] = types.split('*') as [string, string];
    for (const name of ts.sys.getDirectories(join(root, before))) {
      const dts = join(root, before, name, after.replace(/^\//, ''));
      if (ts.sys.fileExists(dts)) out.push({ specifier: specifier.replace('*', name), dts });
    }
  }
  return out;
}

const text = (node: ts.Node): string => node.getText().replace(/\r\n/g, '\n');

/** The declaration text of a symbol: each of its declarations (an interface merged with a namespace, ...). */
function declarationText(sym: ts.Symbol): string {
  return (sym.declarations ?? []).map((d) => {
    // `export declare const x: T;` -> the statement, not only the declarator
    const node = ts.isVariableDeclaration(d) ? d.parent.parent : d;
    return text(node).replace(/^export\s+/, '').replace(/^declare\s+/, '');
  }).join('\n');
}

export interface ApiReport {
  markdown: string;
  /** package types a public declaration uses but no entry point exports: `Name (used by Export)` */
  leaks: string[];
}

export function apiReport(root: string): ApiReport {
  const entries = entryPoints(root);
  const program = ts.createProgram(entries.map((e) => e.dts), {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022,
    strict: true, skipLibCheck: true, types: ['node'], noEmit: true,
  });
  const checker = program.getTypeChecker();
  const ours = (sym: ts.Symbol): boolean => (sym.declarations ?? []).some((d) => {
    const file = relative(root, d.getSourceFile().fileName).split(sep).join('/');
    return file.startsWith('dist/src/');
  });
  const resolveAlias = (sym: ts.Symbol): ts.Symbol => ((sym.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(sym) : sym);
  const exported = new Set<ts.Symbol>();
  const sections: string[] = [];
  for (const e of entries) {
    const file = program.getSourceFile(e.dts);
    if (file === undefined) throw new Error(`no declaration file ${e.dts} (build first)`);
    const mod = checker.getSymbolAtLocation(file);
    const exports = mod === undefined ? [] : checker.getExportsOfModule(mod);
    const blocks: string[] = [];
    for (const sym of [...exports].sort((a, b) => a.name.localeCompare(b.name))) {
      const target = resolveAlias(sym);
      exported.add(target);
      // `export type * as Config from './config.js'`: the namespace's members are exported too
      if ((target.flags & ts.SymbolFlags.ValueModule) !== 0) for (const m of checker.getExportsOfModule(target)) exported.add(resolveAlias(m));
      const module = (target.flags & ts.SymbolFlags.ValueModule) !== 0
        ? relative(root, target.declarations![0]!.getSourceFile().fileName).split(sep).join('/') : undefined;
      const alias = module !== undefined ? ` (every export of ${module})` : target.name !== sym.name && target.name !== 'default' ? ` (declared as ${target.name})` : '';
      blocks.push(`### ${sym.name}${alias}\n\n\`\`\`ts\n${declarationText(target)}\n\`\`\``);
    }
    sections.push(`## '${e.specifier}'\n\n${blocks.join('\n\n')}`);
  }
  // types the public declarations use: every type reference, walked from the exports
  const referenced = new Map<ts.Symbol, string>();
  const visit = (node: ts.Node, from: string): void => {
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node) || ts.isImportTypeNode(node) || ts.isTypeQueryNode(node)) {
      const at = ts.isTypeReferenceNode(node) ? node.typeName : ts.isExpressionWithTypeArguments(node) ? node.expression
        : ts.isTypeQueryNode(node) ? node.exprName : node.qualifier;
      const sym0 = at === undefined ? undefined : checker.getSymbolAtLocation(at);
      const sym = sym0 === undefined ? undefined : resolveAlias(sym0);
      if (sym !== undefined && ours(sym) && !exported.has(sym) && !referenced.has(sym) && (sym.flags & ts.SymbolFlags.TypeParameter) === 0) {
        referenced.set(sym, from);
        for (const d of sym.declarations ?? []) visit(d, sym.name);
      }
    }
    ts.forEachChild(node, (child) => visit(child, from));
  };
  for (const sym of exported) for (const d of sym.declarations ?? []) visit(d, sym.name);
  const leaks = [...referenced.keys()].sort((a, b) => a.name.localeCompare(b.name));
  const leakBlocks = leaks.map((s) => `### ${s.name}\n\n\`\`\`ts\n${declarationText(s)}\n\`\`\``);
  const markdown = [
    '# API report',
    '',
    'The public surface of svrouter: every entry point of `package.json` `exports` with the declarations it',
    'exports, as emitted (`test/unit/house/api-report.ts` writes it; `test/unit/house/api-report.test.ts` fails when it',
    'differs from the code: regenerate with `SVR_UPDATE_DOCS=1 npx uvu dist/test api-report` and review the diff).',
    '',
    ...sections.flatMap((s) => [s, '']),
    ...(leakBlocks.length > 0 ? ['## Used by the public declarations, not exported', '', ...leakBlocks.flatMap((b) => [b, ''])] : []),
  ].join('\n');
  return { markdown, leaks: leaks.map((s) => `${s.name} (used by ${referenced.get(s)!})`) };
}
