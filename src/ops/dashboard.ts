/**
 * The live dashboard at `/dashboard`: a page (assets/dashboard/, with uPlot from npm for the
 * message-rate chart) fed once a second over `/dashboard/live`, a plain websocket endpoint of
 * Switchyard itself — but one marked internal, so the dashboard's own connections are never
 * the application's: no broadcast reaches them, nothing counts them, `authorize` and the caps
 * never see them. Off loopback the page asks for the admin token (admin.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Rooms } from '../hub/rooms.js';
import type { AdminGate } from './admin.js';
import { makeSnapshot, readNodes } from './snapshot.js';
import type { OpsSource } from './source.js';

/** How often an open dashboard is sent a snapshot. */
export const DASHBOARD_TICK_MS = 1_000;

const require = createRequire(import.meta.url);
const ASSET_DIR = new URL('../../assets/dashboard/', import.meta.url);

/** The page's files, read once per process (immutable: the package's own files). */
const ASSETS: Record<string, { type: string; path: () => string }> = {
  'dashboard.js': { type: 'text/javascript', path: () => new URL('dashboard.js', ASSET_DIR).pathname },
  'dashboard.css': { type: 'text/css', path: () => new URL('dashboard.css', ASSET_DIR).pathname },
  'uPlot.iife.min.js': { type: 'text/javascript', path: () => require.resolve('uplot/dist/uPlot.iife.min.js') },
  'uPlot.min.css': { type: 'text/css', path: () => require.resolve('uplot/dist/uPlot.min.css') },
};
const assetCache = new Map<string, Buffer>();

function asset(name: string): { type: string; body: Buffer } | undefined {
  const entry = ASSETS[name];
  if (entry === undefined) return undefined;
  let body = assetCache.get(name);
  if (body === undefined) assetCache.set(name, (body = readFileSync(entry.path())));
  return { type: entry.type, body };
}

export function mountDashboard(scope: FastifyInstance, source: OpsSource, gate: AdminGate): () => void {
  const base = `${scope.prefix}/dashboard`;
  scope.get('/dashboard', async (request, reply) => {
    if (!gate.allows(request.raw)) return loginPage(reply, gate, base, '');
    return reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(page(base));
  });
  scope.post('/dashboard/login', async (request, reply) => login(request, reply, gate, base));
  scope.get<{ Params: { file: string } }>('/dashboard/assets/:file', async (request, reply) => {
    const found = asset(request.params.file);
    if (found === undefined) return reply.code(404).send({ code: 'ERR_NOT_FOUND', message: 'no such asset' });
    return reply.type(found.type).header('Cache-Control', 'public, max-age=3600').send(found.body);
  });
  const rooms = source.internalWebsocket<unknown>(
    `${base}/live`,
    {
      mode: 'json',
      queueOverflow: 'refuse', // a slow dashboard misses a tick, it is never closed for it
      accept: (pending) => gate.allows(pending.request),
    },
    async (conn) => {
      conn.send(await snapshotOf(source)).catch(() => undefined);
      await conn.done;
    },
  );
  return startTicking(source, rooms);
}

/** A snapshot with the cluster's nodes (read from the broker at most once per liveness round). */
async function snapshotOf(source: OpsSource): Promise<ReturnType<typeof makeSnapshot>> {
  return makeSnapshot(source, await readNodes(source));
}

/** Sends every open dashboard a snapshot each tick; returns the stop function. */
function startTicking(source: OpsSource, rooms: Rooms): () => void {
  const timer = setInterval(() => {
    // Nothing to make while no dashboard is open.
    if (rooms.adapter.size === 0) return;
    void snapshotOf(source).then((snapshot) => rooms.target().send(snapshot));
  }, DASHBOARD_TICK_MS);
  timer.unref();
  return () => clearInterval(timer);
}

async function login(request: FastifyRequest, reply: FastifyReply, gate: AdminGate, base: string): Promise<unknown> {
  const body = typeof request.body === 'string' ? request.body : '';
  const token = new URLSearchParams(body).get('token') ?? '';
  if (!gate.isToken(token)) return loginPage(reply.code(401), gate, base, 'That is not the admin token.');
  const isSecure = (request.raw.socket as { encrypted?: boolean }).encrypted === true || request.protocol === 'https';
  return reply.code(303).header('Set-Cookie', gate.setCookie(base, isSecure)).header('Location', base).send();
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The login form (401). Paths are absolute: the form is also the answer to `<base>/login`. */
function loginPage(reply: FastifyReply, gate: AdminGate, base: string, problem: string): FastifyReply {
  const note = gate.hasToken
    ? 'This server listens beyond this machine: the dashboard needs the admin token.'
    : 'This server listens beyond this machine and has no admin token: start it with --admin-token (adminToken) to use the dashboard.';
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard dashboard — sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${base}/assets/dashboard.css"></head>
<body class="login"><main><h1>Switchyard dashboard</h1><p>${escapeHtml(note)}</p>
${problem === '' ? '' : `<p class="problem" role="alert">${escapeHtml(problem)}</p>`}
<form method="post" action="${base}/login"><label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form></main></body></html>`;
  if (reply.statusCode === 200) reply.code(401);
  return reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(html);
}

/** The dashboard page; `base` is its own path (under the plugin's prefix). */
const page = (base: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Switchyard dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${base}/assets/uPlot.min.css">
<link rel="stylesheet" href="${base}/assets/dashboard.css">
</head>
<body>
<header class="bar"><h1>Switchyard</h1><span id="phase" class="phase">connecting…</span><span id="updated" class="updated"></span></header>
<main class="grid">
<section class="card wide"><h2>Sessions <span id="total" class="count"></span></h2><table id="sessions"><thead><tr><th>family</th><th>transport</th><th>open</th></tr></thead><tbody></tbody></table></section>
<section class="card wide"><h2>Messages per second</h2><div id="chart"></div><p class="legend"><span id="rate-in"></span> <span id="rate-out"></span></p></section>
<section class="card"><h2>Trouble</h2><dl id="trouble"></dl></section>
<section class="card"><h2>Rooms <span id="room-count" class="count"></span></h2><table id="rooms"><thead><tr><th>room</th><th>members</th></tr></thead><tbody></tbody></table></section>
<section class="card"><h2>Deepest queues</h2><table id="queues"><thead><tr><th>id</th><th>family</th><th>transport</th><th>queued</th></tr></thead><tbody></tbody></table></section>
<section class="card"><h2>Node and cluster</h2><dl id="cluster"></dl></section>
<section class="card" id="cluster-rooms-card" hidden><h2>Rooms in the cluster <span id="cluster-room-count" class="count"></span></h2><table id="cluster-rooms"><thead><tr><th>room</th><th>members</th></tr></thead><tbody></tbody></table></section>
<section class="card wide" id="nodes-card" hidden><h2>Nodes <span id="node-count" class="count"></span></h2><table id="nodes"><thead><tr><th>node</th><th>host</th><th>pid</th><th>state</th><th>sessions</th><th>connections</th><th>in/s</th><th>out/s</th><th>CPU</th><th>memory</th></tr></thead><tbody></tbody></table></section>
</main>
<script src="${base}/assets/uPlot.iife.min.js"></script>
<script src="${base}/assets/dashboard.js"></script>
</body>
</html>`;
