// Serves the web UI: a few static pages and the small browser modules they load. The modules are
// TypeScript with erasable syntax only, like the rest of Stint; Node strips their types once, here,
// so there is no build step and no bundler. The pages then call the same /api/v1 routes as every
// other client, carried by the cookie session (browser-session.ts).
import { readdirSync, readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import { Router, type Response } from 'express';

const root = join(import.meta.dirname, 'web');

/** Page paths and the file each serves. */
const pages: Record<string, string> = {
  '/app/': 'technician.html',
  '/app/login': 'login.html',
  '/app/approvals': 'approvals.html',
  '/app/audit': 'audit.html',
  '/app/reviews': 'reviews.html',
  '/app/admin/tenants': 'admin-tenants.html',
  '/app/admin/technicians': 'admin-technicians.html',
  '/app/admin/profiles': 'admin-profiles.html',
};

interface Asset {
  contentType: string;
  body: string;
}

function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const dir = join(root, 'assets');
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    if (name.endsWith('.ts')) assets.set(name, { contentType: 'text/javascript; charset=utf-8', body: stripTypeScriptTypes(text) });
    else if (name.endsWith('.css')) assets.set(name, { contentType: 'text/css; charset=utf-8', body: text });
  }
  return assets;
}

let cached: { assets: Map<string, Asset>; pages: Map<string, string> } | null = null;

function files() {
  cached ??= {
    assets: loadAssets(),
    pages: new Map(Object.entries(pages).map(([path, file]) => [path, readFileSync(join(root, 'pages', file), 'utf8')])),
  };
  return cached;
}

function send(res: Response, contentType: string, body: string) {
  res.status(200).type(contentType).send(body);
}

export function webUi(): Router {
  const { assets, pages: html } = files();
  // Strict: /app and /app/ are different paths here (one redirects to the other).
  const router = Router({ strict: true });
  router.get('/', (_req, res) => res.redirect(302, '/app/'));
  router.get('/app', (_req, res) => res.redirect(302, '/app/'));
  for (const [path, body] of html) router.get(path, (_req, res) => send(res, 'text/html; charset=utf-8', body));
  router.get('/app/assets/:name', (req, res, next) => {
    const asset = assets.get(req.params.name);
    if (!asset) return next();
    send(res, asset.contentType, asset.body);
  });
  return router;
}
