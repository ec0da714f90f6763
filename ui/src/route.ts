/** Hash routes: #/fabric, #/routers/r1, #/paths?router=..., #/sessions, #/sessions/<id>, #/config, #/alarms. */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** path segments: ['routers', 'r1'] */
  parts: string[];
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const [path = '', q = ''] = hash.replace(/^#\/?/, '').split('?');
  return { parts: path.split('/').filter((p) => p !== '').map(decodeURIComponent), params: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** `#/a/b?x=1` from parts and params (undefined and '' values left out). */
export function href(parts: readonly string[], params: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${s === '' ? '' : `?${s}`}`;
}

/** Replaces the query of the current route (filters), without a new history entry per keystroke. */
export function setParams(parts: readonly string[], params: Record<string, string | number | undefined>): void {
  history.replaceState(null, '', href(parts, params));
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}
