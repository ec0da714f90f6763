/**
 * State shared by one load of a plugin: its control part and its data-path part. The loader calls
 * `control(ctx, opts)` and `dataplane(ctx, opts)` with the same options object (the value `options()`
 * returned for this router), so that object is the key. Two routers loading the plugin get two states.
 * Both parts run on the router's thread; a data path in a worker would need shared memory instead.
 */
const states = new WeakMap<object, unknown>();

export function perLoad<S>(opts: object, create: () => S): S {
  let s = states.get(opts) as S | undefined;
  if (s === undefined) {
    s = create();
    states.set(opts, s);
  }
  return s;
}
