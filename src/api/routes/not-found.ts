/** The 404 of a named resource (`no peer named "r9"; peers: r2`). */
import { SvrError } from '../../errors.js';

export function notFound(what: string, name: string, known: readonly string[]): never {
  throw new SvrError('SVR_ERR_API_NOT_FOUND', `no ${what} named "${name}"; ${what}s: ${known.join(', ') || 'none'}`, { [what]: name });
}
