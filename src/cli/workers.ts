/**
 * `switchyard --workers N --redis URL`: N worker processes (node:cluster) serve one port as one
 * server. The primary accepts connections and hands them to the workers in turn (node:cluster's
 * round-robin), so two requests of one session may land on two workers: each worker is a
 * cluster node on Redis (`redisCluster()`), which relays a request to the worker that owns its
 * session. No stickiness is needed, and a worker that dies is a node that died: the others take
 * its sessions over and the primary starts a new worker.
 *
 * The primary serves nothing itself. It prints where the server listens once every worker
 * does, restarts a worker that exits (at most MAX_RESTARTS in RESTART_WINDOW_MS, then it gives
 * up and stops the rest, exit 1), answers the workers' `/metrics` with every worker's registry
 * merged (ops/worker-metrics.ts), and on SIGINT or SIGTERM tells every worker to drain (SIGTERM)
 * and exits once they have; a second signal kills them.
 *
 *   primary ──fork──► worker 1..N      worker ──{listening, url}──► primary   (startup)
 *                                      worker ──{failed, line}────► primary   (cannot start)
 */
import cluster, { type Worker } from 'node:cluster';
import { Counter, Gauge, Registry } from 'prom-client';
import { serveWorkerMetrics } from '../ops/worker-metrics.js';
import type { Settings } from './settings.js';

/** Restarts allowed within RESTART_WINDOW_MS before the primary gives up (a crash loop). */
export const MAX_RESTARTS = 10;
export const RESTART_WINDOW_MS = 60_000;
/** Pause before a restart, times the restarts in the window (a Redis that is down is not hammered). */
const RESTART_DELAY_MS = 200;

export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** What a worker tells its primary. */
export type WorkerNotice =
  | { readonly switchyard: 'listening'; readonly url: string; readonly dashboard: boolean }
  | { readonly switchyard: 'failed'; readonly line: string };

function isNotice(value: unknown): value is WorkerNotice {
  const kind = (value as { switchyard?: unknown } | null)?.switchyard;
  return kind === 'listening' || kind === 'failed';
}

/** Runs the primary; resolves with the exit code once every worker has exited. */
export function runPrimary(settings: Settings, io: Io): Promise<number> {
  return new Promise((resolve) => new Primary(settings, io, resolve).start());
}

class Primary {
  /** Workers that listen (the ones a scrape asks). */
  private readonly serving = new Set<Worker>();
  private readonly restarts: number[] = [];
  private hasStarted = false;
  private isStopping = false;
  private exitCode = 0;
  private readonly registry = new Registry();
  private readonly restartsTotal: Counter;
  private stopMetrics: () => void = () => undefined;

  constructor(
    private readonly settings: Settings,
    private readonly io: Io,
    private readonly done: (code: number) => void,
  ) {
    this.restartsTotal = new Counter({
      name: 'switchyard_worker_restarts_total',
      help: 'Workers the primary started again after they exited.',
      registers: [this.registry],
    });
    const serving = this.serving;
    new Gauge({
      name: 'switchyard_workers',
      help: 'Worker processes that listen.',
      registers: [this.registry],
      collect() {
        this.set(serving.size);
      },
    });
  }

  start(): void {
    this.stopMetrics = serveWorkerMetrics({ cluster, workers: () => this.serving, registry: this.registry });
    cluster.on('message', (worker, message) => this.onNotice(worker, message));
    cluster.on('exit', (worker, code, signal) => this.onExit(worker, code, signal));
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    for (let i = 0; i < this.settings.workers; i++) cluster.fork();
  }

  private onNotice(worker: Worker, message: unknown): void {
    if (!isNotice(message)) return;
    if (message.switchyard === 'failed') {
      // Every worker fails alike at startup (Redis unreachable): say it once.
      if (!this.hasStarted && this.exitCode === 0) this.io.err(message.line);
      else if (this.hasStarted) this.io.err(`${message.line} (worker ${worker.process.pid})`);
      return;
    }
    this.serving.add(worker);
    if (this.hasStarted || this.serving.size < this.settings.workers) return;
    this.hasStarted = true;
    this.io.out(`Switchyard listening on ${message.url} (${this.settings.workers} workers)`);
    if (message.dashboard) this.io.out(`Dashboard: ${message.url}/dashboard`);
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.serving.delete(worker);
    if (this.isStopping) return this.finishWhenAllGone();
    if (!this.hasStarted) {
      // A worker that cannot start: neither can the others (same settings). Stop, with its code.
      this.exitCode = code !== null && code !== 0 ? code : 1;
      return this.stopAll('SIGTERM');
    }
    const now = Date.now();
    while (this.restarts.length > 0 && now - (this.restarts[0] as number) > RESTART_WINDOW_MS) this.restarts.shift();
    if (this.restarts.length >= MAX_RESTARTS) {
      this.io.err(
        `switchyard: workers keep exiting (${MAX_RESTARTS} restarts within ${RESTART_WINDOW_MS / 1000} s): stopping`,
      );
      this.exitCode = 1;
      return this.stopAll('SIGTERM');
    }
    this.restarts.push(now);
    this.restartsTotal.inc();
    const how = signal === null ? `with code ${String(code)}` : `on ${signal}`;
    this.io.err(`switchyard: worker ${worker.process.pid} exited ${how}; starting another`);
    setTimeout(() => {
      if (!this.isStopping) cluster.fork();
    }, RESTART_DELAY_MS * this.restarts.length).unref();
  }

  private readonly onSignal = (): void => {
    if (this.isStopping) {
      // A second signal: no more waiting for the drain.
      this.exitCode = 130;
      return this.kill('SIGKILL');
    }
    this.stopAll('SIGTERM');
  };

  /** Asks every worker to drain (their sessions move to the others, then to nobody: all leave). */
  private stopAll(signal: NodeJS.Signals): void {
    this.isStopping = true;
    this.kill(signal);
    this.finishWhenAllGone();
  }

  private kill(signal: NodeJS.Signals): void {
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker !== undefined && !worker.isDead()) worker.process.kill(signal);
    }
  }

  private finishWhenAllGone(): void {
    const alive = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined && !worker.isDead());
    if (alive.length > 0) return;
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    this.stopMetrics();
    this.done(this.exitCode);
  }
}
