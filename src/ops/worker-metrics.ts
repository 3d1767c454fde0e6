/**
 * `/metrics` for a machine that runs several workers (node:cluster, `switchyard --workers N`):
 * whichever worker a scrape lands on answers for all of them. It asks its primary over the
 * IPC channel; the primary asks every worker it names for its registry as JSON and merges
 * them with prom-client's cluster aggregation (`AggregatorRegistry.aggregate`: counters and
 * most gauges summed, per-node gauges taken from the first worker, process metrics by their
 * own rules), plus metrics of its own (workers, restarts, answers).
 *
 *   worker ──{metrics-scrape, id}──► primary ──{metrics-json, id}──► every ready worker
 *   worker ◄──{metrics-text, id, body}── primary ◄──{metrics-local, id, metrics}──┘
 *
 * A worker that does not answer within the primary's deadline is left out of that scrape
 * (`switchyard_workers_answered` says how many did). One server per worker process.
 */
import type { Cluster, Worker } from 'node:cluster';
import { AggregatorRegistry, Gauge, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

/** One registry as JSON (`registry.getMetricsAsJSON()`), what travels over IPC. */
type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** How long the primary waits for the workers' answers to one scrape. */
export const WORKER_SCRAPE_TIMEOUT_MS = 2_000;
/** How long a worker waits for the primary's merged answer (the primary's deadline, and some). */
const PRIMARY_ANSWER_TIMEOUT_MS = WORKER_SCRAPE_TIMEOUT_MS + 3_000;

type Message =
  | { readonly switchyard: 'metrics-scrape'; readonly id: number }
  | { readonly switchyard: 'metrics-json'; readonly id: number }
  | { readonly switchyard: 'metrics-local'; readonly id: number; readonly metrics: MetricJson[] }
  | { readonly switchyard: 'metrics-text'; readonly id: number; readonly body: string };

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'number';
}

/** The worker's side: answers the primary with its registry, and scrapes through the primary. */
export class WorkerMetrics {
  private nextId = 0;
  private readonly waiting = new Map<number, (body: string) => void>();
  private readonly onMessage = (message: unknown): void => {
    if (!isMessage(message)) return;
    if (message.switchyard === 'metrics-json') void this.answer(message.id);
    else if (message.switchyard === 'metrics-text') this.waiting.get(message.id)?.(message.body);
  };

  constructor(private readonly registry: Registry) {
    process.on('message', this.onMessage);
  }

  /** The whole machine's exposition text; rejects when the primary does not answer in time. */
  scrape(): Promise<string> {
    const send = process.send?.bind(process);
    if (send === undefined) return this.registry.metrics();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the primary did not answer within ${PRIMARY_ANSWER_TIMEOUT_MS} ms`));
      }, PRIMARY_ANSWER_TIMEOUT_MS);
      this.waiting.set(id, (body) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(body);
      });
      send({ switchyard: 'metrics-scrape', id } satisfies Message);
    });
  }

  stop(): void {
    process.off('message', this.onMessage);
  }

  private async answer(id: number): Promise<void> {
    const metrics = await this.registry.getMetricsAsJSON();
    process.send?.({ switchyard: 'metrics-local', id, metrics } satisfies Message);
  }
}

/** What the primary needs: its cluster, the workers to ask, and metrics of its own. */
export interface PrimaryMetricsParts {
  readonly cluster: Cluster;
  /** The workers that serve (started and listening); a starting one would only delay the answer. */
  readonly workers: () => Iterable<Worker>;
  /** The primary's own metrics, merged in (they are not the workers'). */
  readonly registry: Registry;
}

/** The primary's side: merges the workers' registries for whichever worker asked. Returns the stop function. */
export function serveWorkerMetrics(parts: PrimaryMetricsParts): () => void {
  let nextId = 0;
  const gathering = new Map<number, (worker: Worker, metrics: MetricJson[]) => void>();
  const answered = new Gauge({
    name: 'switchyard_workers_answered',
    help: 'Workers whose metrics are in this scrape (the others did not answer in time).',
    registers: [parts.registry],
  });
  const gather = async (): Promise<string> => {
    const id = nextId++;
    const answers = await collect(parts.workers(), id, gathering);
    answered.set(answers.length);
    const merged = AggregatorRegistry.aggregate([await parts.registry.getMetricsAsJSON(), ...answers]);
    return merged.metrics();
  };
  const onMessage = (worker: Worker, message: unknown): void => {
    if (!isMessage(message)) return;
    if (message.switchyard === 'metrics-local') gathering.get(message.id)?.(worker, message.metrics);
    if (message.switchyard !== 'metrics-scrape') return;
    gather().then(
      (body) => worker.send({ switchyard: 'metrics-text', id: message.id, body } satisfies Message),
      (error: unknown) => {
        const body = `# merging the workers' metrics failed: ${error instanceof Error ? error.message : String(error)}\n`;
        worker.send({ switchyard: 'metrics-text', id: message.id, body } satisfies Message);
      },
    );
  };
  parts.cluster.on('message', onMessage);
  return () => parts.cluster.off('message', onMessage);
}

/** Asks each worker for its registry; resolves with the answers that came within the deadline. */
function collect(
  workers: Iterable<Worker>,
  id: number,
  gathering: Map<number, (worker: Worker, metrics: MetricJson[]) => void>,
): Promise<MetricJson[][]> {
  const asked = new Set<Worker>();
  for (const worker of workers) {
    if (!worker.isConnected()) continue;
    worker.send({ switchyard: 'metrics-json', id } satisfies Message);
    asked.add(worker);
  }
  const answers: MetricJson[][] = [];
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      gathering.delete(id);
      resolve(answers);
    };
    const timer = setTimeout(finish, WORKER_SCRAPE_TIMEOUT_MS);
    gathering.set(id, (worker, metrics) => {
      if (!asked.delete(worker)) return;
      answers.push(metrics);
      if (asked.size === 0) finish();
    });
    if (asked.size === 0) finish();
  });
}
