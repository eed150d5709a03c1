// ui/ under /ui/, with the strict Content-Security-Policy the component must work under:
// nothing inline, nothing from elsewhere.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
                '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml' };
export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                 + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
                 + "require-trusted-types-for 'script'; trusted-types 'none'";

export async function serveStatic(req, res, root, relative) {
  const file = path.resolve(root, '.' + path.posix.normalize('/' + decodeURIComponent(relative || '/workspaces.html')));
  const type = TYPES[path.extname(file)];
  if (!file.startsWith(path.resolve(root) + path.sep) || !type || !['GET', 'HEAD'].includes(req.method)) {
    res.writeHead(404).end();
    return;
  }
  let content;
  try { content = await readFile(file); } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': type, 'Content-Security-Policy': CSP, 'Cache-Control': 'no-store',
                       'X-Content-Type-Options': 'nosniff' });
  res.end(req.method === 'HEAD' ? undefined : content);
}
