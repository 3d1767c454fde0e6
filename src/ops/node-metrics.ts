/**
 * Per-node gauges (label `node`) from this node's view of the cluster (hub/cluster-view.ts):
 * every node the cluster lists, with the stats record it last published. Every node exports
 * the whole cluster, so a scrape of any one of them shows all; summed over nodes or machines
 * they would count each node once per scraped node: use `max by (node)`. Across the workers
 * of one machine they aggregate with `first` (every worker reads the same records). So does
 * the cluster-wide room count, `switchyard_cluster_rooms`.
 */
import { Gauge, type Registry } from 'prom-client';
import type { ClusterView, NodeStats, NodeView } from '../hub/cluster-view.js';
import { clusterRooms } from './node-stats.js';

type Read = (stats: NodeStats) => number;

const GAUGES: ReadonlyArray<readonly [name: string, help: string, read: Read]> = [
  ['switchyard_node_sessions', '0.6 sessions the node owns, as it last published.', (s) => s.sessions],
  ['switchyard_node_connections', 'Open connections on the node, every family.', (s) => s.connections],
  [
    'switchyard_node_messages_received_per_second',
    'Messages from clients per second on the node, over its last liveness round.',
    (s) => s.messagesInPerSecond,
  ],
  [
    'switchyard_node_messages_sent_per_second',
    'Messages handed to transports per second on the node, over its last liveness round.',
    (s) => s.messagesOutPerSecond,
  ],
  ['switchyard_node_cpu_ratio', 'CPU time per second of the node (1 = one core busy).', (s) => s.cpuRatio],
  ['switchyard_node_resident_memory_bytes', 'Resident memory of the node process.', (s) => s.rssBytes],
];

/** Registers the per-node gauges on `registry`; they read the view when scraped. */
export function registerNodeGauges(registry: Registry, view: ClusterView): void {
  // One read per scrape, shared by every gauge of it (the view caches per liveness round).
  const nodes = async (): Promise<readonly NodeView[]> => view.nodes().catch(() => []);
  new Gauge({
    name: 'switchyard_node_up',
    help: 'Whether the node is alive to the cluster (its liveness key is there): 1 or 0.',
    labelNames: ['node'],
    registers: [registry],
    aggregator: 'first',
    async collect() {
      this.reset();
      for (const node of await nodes()) this.set({ node: node.nodeId }, node.isAlive ? 1 : 0);
    },
  });
  new Gauge({
    name: 'switchyard_cluster_rooms',
    help: 'Named rooms with a member on any live node of the cluster (a lower bound past 1000 rooms on one node).',
    registers: [registry],
    aggregator: 'first',
    async collect() {
      this.set(clusterRooms(await nodes()).count);
    },
  });
  for (const [name, help, read] of GAUGES) {
    new Gauge({
      name,
      help,
      labelNames: ['node'],
      registers: [registry],
      aggregator: 'first',
      async collect() {
        this.reset();
        for (const node of await nodes()) {
          if (node.stats !== undefined) this.set({ node: node.nodeId }, read(node.stats));
        }
      },
    });
  }
}
