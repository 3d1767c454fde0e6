/**
 * The Switchyard row with `metrics: true`: the same server as switchyard.ts, with every
 * family counting into its OpsCounters for /metrics (nobody scrapes during the run), so A
 * and C show what counting costs on the hot path.
 */
process.env.BENCH_SWITCHYARD_METRICS = '1';
await import('./switchyard.js');
