/**
 * The 0.6 browser client and its Flash fallback, served from the `socket.io-legacy` npm
 * dependency (socket.io@0.6.18), never copied into this repository.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The version the built client reports (`io.version`), used as its ETag like 0.6.18 did. */
export const CLIENT_VERSION = '0.6.3';

interface ClientFile {
  readonly body: Buffer;
  readonly contentType: string;
}

const require = createRequire(import.meta.url);
let clientRoot: string | undefined;
const cache = new Map<string, ClientFile>();

function root(): string {
  clientRoot ??= join(dirname(require.resolve('socket.io-legacy/package.json')), 'support', 'socket.io-client');
  return clientRoot;
}

const FILES: Record<string, { path: string; contentType: string }> = {
  'socket.io.js': { path: 'socket.io.js', contentType: 'text/javascript; charset=UTF-8' },
  'WebSocketMain.swf': {
    path: 'lib/vendor/web-socket-js/WebSocketMain.swf',
    contentType: 'application/x-shockwave-flash',
  },
  'lib/vendor/web-socket-js/WebSocketMain.swf': {
    path: 'lib/vendor/web-socket-js/WebSocketMain.swf',
    contentType: 'application/x-shockwave-flash',
  },
};

function load(name: string): ClientFile | undefined {
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  const entry = FILES[name];
  if (entry === undefined) return undefined;
  const file = { body: readFileSync(join(root(), entry.path)), contentType: entry.contentType };
  cache.set(name, file);
  return file;
}

/** Answers a GET for one of the client files; false when `name` is not one. */
export function serveClientFile(name: string, req: IncomingMessage, res: ServerResponse): boolean {
  const file = load(name);
  if (file === undefined) return false;
  if (req.headers['if-none-match'] === CLIENT_VERSION) {
    res.writeHead(304, { ETag: CLIENT_VERSION });
    res.end();
    return true;
  }
  res.writeHead(200, {
    'Content-Type': file.contentType,
    'Content-Length': file.body.length,
    ETag: CLIENT_VERSION,
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : file.body);
  return true;
}
