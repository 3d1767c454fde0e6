/**
 * What the `switchyard` command does: reads its settings, starts the chat demo with health,
 * metrics and the dashboard, prints where it listens, and drains on SIGINT/SIGTERM. Every
 * failure is one line on stderr and an exit code — 2 for a usage mistake, 1 for anything
 * else — never a stack trace.
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { buildDemoApp } from '../demo/app.js';
import { RealtimeError } from '../errors.js';
import type { ClusterBackend } from '../hub/cluster.js';
import { isLoopbackAddress } from '../ops/admin.js';
import type { CreateServerOptions } from '../server.js';
import { resolveSettings, usage, UsageError, type Settings } from './settings.js';
import type { Io, WorkerNotice } from './workers.js';

export type { Io } from './workers.js';

/** Runs the command; resolves with the exit code once it should exit (a signal drained it). */
export async function run(argv: readonly string[], env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  let settings: Settings;
  try {
    settings = resolveSettings(argv, env, (path) => readFileSync(path, 'utf8'));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`switchyard: ${error.message}`);
    io.err(usage());
    return 2;
  }
  if (settings.help) return print(io, usage());
  if (settings.version) return print(io, version());
  const isWorker = settings.workers > 1 && cluster.isWorker;
  if (settings.workers > 1 && cluster.isPrimary) {
    // One token for every worker (each would make its own otherwise).
    const adminToken =
      settings.server.adminToken ?? (isLoopbackAddress(settings.host) ? undefined : generatedToken(io));
    if (adminToken !== undefined) process.env.SWITCHYARD_ADMIN_TOKEN = adminToken;
    // The primary's module brings prom-client (merged /metrics): loaded only with --workers.
    const { runPrimary } = await import('./workers.js');
    return runPrimary(settings, io);
  }
  const out = isWorker ? workerIo(io) : io;
  let app: FastifyInstance;
  try {
    app = await start(settings, out, isWorker);
  } catch (error) {
    out.err(`switchyard: ${startFailure(error, settings)}`);
    return error instanceof RealtimeError && error.code === 'ERR_INVALID_OPTION' ? 2 : 1;
  }
  return waitForSignal(app, io, isWorker);
}

/** A worker tells its primary instead of printing: the primary prints one line for all. */
function workerIo(io: Io): Io {
  const tell = (notice: WorkerNotice): void => void process.send?.(notice);
  return {
    out: io.out,
    err: (line) => tell({ switchyard: 'failed', line }),
  };
}

function print(io: Io, text: string): number {
  io.out(text);
  return 0;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `switchyard ${pkg.version}`;
}

async function start(settings: Settings, io: Io, isWorker: boolean): Promise<FastifyInstance> {
  const server: CreateServerOptions & { cluster?: ClusterBackend } = { ...settings.server };
  const { maxHeaderBytes, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, connectionTimeoutMs, ...own } =
    server;
  const http = { maxHeaderBytes, headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, connectionTimeoutMs };
  const adminToken = own.adminToken ?? (isLoopbackAddress(settings.host) ? undefined : generatedToken(io));
  if (settings.redis !== undefined) {
    // Cluster sessions: fan-out and the sessions themselves shared by every node on this Redis.
    const { redisCluster } = await import('../redis.js');
    own.cluster = redisCluster({ url: settings.redis });
  }
  const https =
    settings.tlsCert === undefined || settings.tlsKey === undefined
      ? undefined
      : { cert: readFileSync(settings.tlsCert), key: readFileSync(settings.tlsKey) };
  // A worker's /metrics answers for every worker of the machine (its primary merges them).
  if (isWorker && own.metrics !== false) own.metrics = 'across-workers';
  const app = await buildDemoApp({
    server: { ...own, adminToken, handleSignals: false },
    http,
    logger: { level: settings.logLevel },
    ...(https === undefined ? {} : { https }),
  });
  try {
    await app.listen({ port: settings.port, host: settings.host });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const url = app.switchyard.url.replace(/^http:/, https === undefined ? 'http:' : 'https:');
  if (isWorker) {
    process.send?.({ switchyard: 'listening', url, dashboard: own.dashboard !== false } satisfies WorkerNotice);
    return app;
  }
  io.out(`Switchyard listening on ${url}`);
  if (own.dashboard !== false) io.out(`Dashboard: ${url}/dashboard`);
  return app;
}

/** Off loopback without `--admin-token`: a fresh one, printed once, so the dashboard opens. */
function generatedToken(io: Io): string {
  const token = randomBytes(18).toString('base64url');
  io.out(`Admin token (generated; set --admin-token to choose one): ${token}`);
  return token;
}

/** The one line a failed start prints. */
function startFailure(error: unknown, settings: Settings): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `port ${settings.port} is already in use`;
  if (code === 'EACCES') return `no permission to listen on port ${settings.port} (ports below 1024 need privileges)`;
  if (code === 'EADDRNOTAVAIL') return `cannot bind ${settings.host}: no such address on this machine`;
  if (code === 'ENOENT' && (settings.tlsCert !== undefined || settings.tlsKey !== undefined)) {
    return `cannot read the TLS files: ${(error as Error).message}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `cannot start: ${message.split('\n')[0]}`;
}

/**
 * Drains on the first SIGINT or SIGTERM; a second one exits at once. A worker drains on
 * SIGTERM only, which its primary sends: a Ctrl-C reaches the whole process group, and the
 * primary's SIGTERM that follows must not count as a second signal.
 */
function waitForSignal(app: FastifyInstance, io: Io, isWorker: boolean): Promise<number> {
  const ignore = (): void => undefined;
  if (isWorker) process.on('SIGINT', ignore);
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (!isWorker) process.once('SIGINT', () => resolve(130));
      process.once('SIGTERM', () => resolve(143));
      app.log.info({ signal }, 'shutting down');
      void app.switchyard
        .close()
        .then(() => app.close())
        .then(
          () => resolve(0),
          (error: unknown) => {
            io.err(`switchyard: shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
            resolve(1);
          },
        );
    };
    if (!isWorker) process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
