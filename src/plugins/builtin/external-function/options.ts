/** The external-function plugin's options, checked field by field (see README.md). */
import { PluginOptionsError } from '../../api.js';
import { join, oneOf, record, text } from '../shared/options.js';

export interface FunctionOptions {
  /** the stage is `builtin.external-function/<name>` */
  readonly name: string;
  /** `kind: function` interfaces: toward the function, and back from it (default: `out`) */
  readonly out: string;
  readonly in: string;
  /** when a packet cannot be diverted (interfaces not configured, return key taken): drop it or let it
   *  skip the function */
  readonly onFailure: 'drop' | 'bypass';
}

export interface ExternalFunctionOptions {
  readonly functions: readonly FunctionOptions[];
}

const NAME = /^[A-Za-z0-9_.-]{1,63}$/;

export function readExternalFunctionOptions(raw: unknown): ExternalFunctionOptions {
  const o = record(raw, '', ['functions']);
  const fns = o['functions'];
  if (fns === undefined) throw new PluginOptionsError('functions', 'expected a mapping of function names to { out, in }, got nothing');
  const m = record(fns, 'functions');
  const names = Object.keys(m);
  if (names.length === 0) throw new PluginOptionsError('functions', 'expected at least one function, got an empty mapping');
  const functions = names.map((name): FunctionOptions => {
    const path = join('functions', name);
    if (!NAME.test(name)) throw new PluginOptionsError(path, `a function name is its stage name: 1-63 of [A-Za-z0-9_.-], got ${JSON.stringify(name)}`);
    const f = record(m[name], path, ['out', 'in', 'on-failure']);
    if (f['out'] === undefined) throw new PluginOptionsError(join(path, 'out'), 'expected the name of a `kind: function` interface, got nothing');
    const out = text(f['out'], join(path, 'out'));
    const back = f['in'] === undefined ? out : text(f['in'], join(path, 'in'));
    return { name, out, in: back, onFailure: oneOf(f['on-failure'], join(path, 'on-failure'), ['drop', 'bypass'] as const, 'drop') };
  });
  const byReturn = new Map<string, string>();
  for (const f of functions) {
    const other = byReturn.get(f.in);
    if (other !== undefined) throw new PluginOptionsError(join(join('functions', f.name), 'in'), `interface ${JSON.stringify(f.in)} already returns packets of function ${JSON.stringify(other)}; each function needs its own return interface`);
    byReturn.set(f.in, f.name);
  }
  return { functions };
}
