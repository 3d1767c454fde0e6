/**
 * This node's stats record for the cluster (hub/cluster-view.ts): what it holds and how busy it
 * is, read once per liveness round. Message rates and CPU are per second since the last read,
 * from the same counters the metrics and the dashboard read.
 */
import type { NodeStats } from '../hub/cluster-view.js';
import { FAMILIES, type OpsCounters } from './counters.js';

export class NodeStatsMeter {
  private at = performance.now();
  private received = 0;
  private sent = 0;
  private cpu = process.cpuUsage();

  constructor(private readonly counters: OpsCounters) {}

  /** The record now; the rates cover the time since the previous call. */
  read(): NodeStats {
    const c = this.counters;
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.at) / 1000);
    const received = sumOf(c.receivedTotal);
    const sent = sumOf(c.sentTotal);
    const cpu = process.cpuUsage(this.cpu);
    const stats: NodeStats = {
      sessions: c.openIn('socketio06'),
      connections: FAMILIES.reduce((total, family) => total + c.openIn(family), 0),
      messagesInPerSecond: round((received - this.received) / seconds),
      messagesOutPerSecond: round((sent - this.sent) / seconds),
      // cpuUsage is in microseconds.
      cpuRatio: round((cpu.user + cpu.system) / 1e6 / seconds),
      rssBytes: process.memoryUsage.rss(),
    };
    this.at = now;
    this.received = received;
    this.sent = sent;
    this.cpu = process.cpuUsage();
    return stats;
  }
}

function sumOf(table: Record<string, number>): number {
  let total = 0;
  for (const value of Object.values(table)) total += value;
  return total;
}

/** Two decimals are plenty for a dashboard and keep the record short. */
function round(value: number): number {
  return Math.round(value * 100) / 100;
}
