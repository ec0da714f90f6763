/**
 * The fast read of config text: js-yaml's event parser (no node tree, no positions), ~10x faster than the
 * `yaml` package's parseDocument (10,000 services, 4 MB: ~0.3 s against ~3.5 s of CPU, docs/performance.md
 * "Config at scale"). It reads only what it reads exactly as the `yaml` package does (YAML 1.2 core schema);
 * anything else gives undefined and the caller parses the text with positions (validate.ts), which also
 * reports every syntax error with its line:
 *   - a tag, an anchor or an alias (yaml's `!!int` of a non-number, its alias-count guard);
 *   - a mapping key that is not a string (yaml prints `~` as "", js-yaml as "null");
 *   - a number too large for a double (yaml reads Infinity, js-yaml the text);
 *   - a syntax error, a duplicate key, an empty text or several documents.
 */
import {
  CORE_SCHEMA, EVENT_ALIAS, EVENT_MAPPING, EVENT_SCALAR, EVENT_SEQUENCE, NOT_RESOLVED, constructFromEvents,
  defineMappingTag, defineScalarTag, mapTag, parseEvents,
} from 'js-yaml';

class NotPlain extends Error {}

/** Strings as mapping keys only: an object's key is what yaml's toJS makes of it. */
const stringKeys = defineMappingTag('tag:yaml.org,2002:map', {
  create: mapTag.create, has: mapTag.has, keys: mapTag.keys, get: mapTag.get, identify: mapTag.identify,
  addPair: (map, key, value) => (typeof key === 'string' ? mapTag.addPair(map, key, value) : 'a key that is not a string'),
});

/** Tried after the core int and float: a plain number neither took is one a double cannot hold. */
const NUMBER = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const tooLarge = defineScalarTag<never>('tag:svrouter:too-large', {
  implicit: true,
  implicitFirstChars: ['-', '+', '.', ...'0123456789'],
  resolve: (source) => {
    if (NUMBER.test(source)) throw new NotPlain(source);
    return NOT_RESOLVED;
  },
  identify: () => false,
});

const schema = CORE_SCHEMA.withTags(stringKeys, tooLarge);

/** The text's one document as plain data, or undefined when only the positional parse reads it exactly. */
export function readPlainYaml(text: string): unknown {
  try {
    const events = parseEvents(text, {});
    for (const e of events) {
      if (e.type === EVENT_ALIAS) return undefined;
      if ((e.type === EVENT_SCALAR || e.type === EVENT_MAPPING || e.type === EVENT_SEQUENCE) && (e.tagStart >= 0 || e.anchorStart >= 0)) return undefined;
    }
    const docs = constructFromEvents(events, { source: text, schema });
    return docs.length === 1 ? docs[0] : undefined;
  } catch {
    return undefined;
  }
}
