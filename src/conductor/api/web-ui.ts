/**
 * The web UI's files (ui/, built by esbuild into dist/ui at `npm run build`; they ship in the package)
 * on the API's own origin: GET / is the page, /app.js and /app.css its only other files. The page then
 * talks to /api/v1 with the token it got at login. Content security: nothing from anywhere else.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { findPackageRoot } from '../../native/addon.js';

/** Where the built UI is: <package>/dist/ui. */
export function webUiDir(): string {
  return join(findPackageRoot(), 'dist', 'ui');
}

/** Content-Security-Policy of the UI's files: scripts, styles, images and API calls from this origin only. */
export const WEB_UI_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export async function registerWebUi(app: FastifyInstance, dir = webUiDir()): Promise<void> {
  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.status(503).type('text/plain').send(`the web UI is not built (no ${join(dir, 'index.html')}): run npm run build\n`));
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    index: 'index.html',
    wildcard: false,
    cacheControl: false,
    setHeaders: (res) => {
      res.header('Content-Security-Policy', WEB_UI_CSP);
      res.header('X-Content-Type-Options', 'nosniff');
      res.header('Cache-Control', 'no-cache');
    },
  });
}
