/**
 * Mounts what an operator uses — `/healthz`, `/readyz`, `/metrics`, `/dashboard` — on the
 * fastify instance the server is mounted on, each only when its option is on. They live in a
 * scope of their own, so they take the prefix the plugin was registered under and their form
 * parser never touches the application's routes.
 */
import type { FastifyInstance } from 'fastify';
import { AdminGate } from './admin.js';
import { mountDashboard } from './dashboard.js';
import { mountHealth } from './health.js';
import type { Metrics } from './metrics.js';
import type { registerNodeGauges } from './node-metrics.js';
import { roomSizes } from './snapshot.js';
import type { OpsOptions, OpsSource } from './source.js';
import type { WorkerMetrics } from './worker-metrics.js';

/** Largest login form body. */
const LOGIN_BODY_BYTES = 4096;

/** Returns the function that stops the dashboard's timer (call it when the server closes). */
export async function mountOps(app: FastifyInstance, source: OpsSource, options: OpsOptions): Promise<() => void> {
  const stops: Array<() => void> = [];
  if (!options.health && !options.metrics && !options.dashboard) return () => undefined;
  const gate = new AdminGate(options.adminToken, () => source.isLoopback());
  // prom-client (some 12 MiB of RSS with its dependencies) is loaded only when metrics are on.
  const metricsModules = options.metrics ? await loadMetricsModules() : null;
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: LOGIN_BODY_BYTES },
      (_request, body, done) => done(null, body),
    );
    if (options.health) mountHealth(scope, source);
    if (metricsModules !== null) {
      stops.push(mountMetrics(metricsModules, scope, source, gate, options.aggregateWorkerMetrics));
    }
    if (options.dashboard) stops.push(mountDashboard(scope, source, gate));
  });
  return () => stops.forEach((stop) => stop());
}

/** What /metrics needs, loaded only when metrics are on (prom-client). */
interface MetricsModules {
  readonly Metrics: typeof Metrics;
  readonly registerNodeGauges: typeof registerNodeGauges;
  readonly WorkerMetrics: typeof WorkerMetrics;
}

/** Returns the function that stops answering the primary (a worker's metrics). */
function mountMetrics(
  modules: MetricsModules,
  scope: FastifyInstance,
  source: OpsSource,
  gate: AdminGate,
  acrossWorkers: boolean,
): () => void {
  const { Metrics, registerNodeGauges, WorkerMetrics } = modules;
  const metrics = new Metrics({
    counters: source.counters,
    roomCount: () => roomSizes(source).length,
    adapterErrors: () => source.adapterErrors(),
  });
  if (source.cluster !== undefined) registerNodeGauges(metrics.registry, source.cluster);
  const workers = acrossWorkers ? new WorkerMetrics(metrics.registry) : undefined;
  const scrape = async (): Promise<string> =>
    workers === undefined ? (await metrics.scrape()).body : workers.scrape();
  scope.get('/metrics', async (request, reply) => {
    if (!gate.allows(request.raw)) {
      const message = gate.hasToken
        ? 'send the admin token as Authorization: Bearer <token>'
        : 'this server listens beyond loopback and has no adminToken: /metrics is closed';
      return reply.code(401).header('WWW-Authenticate', 'Bearer').send({ code: 'ERR_UNAUTHORIZED', message });
    }
    let body: string;
    try {
      body = await scrape();
    } catch (error) {
      const message = `cannot gather the workers' metrics: ${error instanceof Error ? error.message : String(error)}`;
      return reply.code(500).send({ code: 'ERR_HANDLER_FAILED', message });
    }
    return reply.type(metrics.registry.contentType).header('Cache-Control', 'no-store').send(body);
  });
  return () => workers?.stop();
}

async function loadMetricsModules(): Promise<MetricsModules> {
  const [{ Metrics }, { registerNodeGauges }, { WorkerMetrics }] = await Promise.all([
    import('./metrics.js'),
    import('./node-metrics.js'),
    import('./worker-metrics.js'),
  ]);
  return { Metrics, registerNodeGauges, WorkerMetrics };
}
