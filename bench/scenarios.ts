/**
 * Scenario sizes. BENCH_QUICK=1 shortens every phase and count (for working on the harness);
 * the figures it prints are not comparable with a full run.
 */
export const isQuick = process.env.BENCH_QUICK === '1';

const quick = <T>(full: T, short: T): T => (isQuick ? short : full);

export const SIZES = {
  /** A: websocket echo. */
  echoWs: { clients: 50, payloadBytes: 64, warmupMs: quick(2000, 500), durationMs: quick(10_000, 1500) },
  /** B: long-polling echo. */
  echoPoll: { clients: 50, payloadBytes: 64, warmupMs: quick(2000, 500), durationMs: quick(10_000, 1500) },
  /** C: fan-out. */
  fanout: { clients: quick(1000, 200), messages: 100, size: 100, roomSize: 100, roomRepeats: 5, timeoutMs: 30_000 },
  /** D: idle websockets (the last level is D's figure; all levels are E's curve). */
  idleWs: { levels: quick([10, 100, 1000, 5000], [10, 100, 500]) },
  /** D: idle polling sessions. */
  idlePoll: { levels: quick([10, 100, 1000], [10, 100]) },
  /** E: the echo at these client counts (50 comes from A). */
  curve: { levels: quick([10, 100, 1000, 5000], [10, 200]), warmupMs: quick(1000, 300), durationMs: quick(5000, 1000) },
  /**
   * G: the cost curve to the machine's limits. Idle websockets level by level (the curve
   * stops at the first level that fails), spread over generator processes of at most
   * `perGenerator` connections and local addresses 127.0.0.2… of at most `perAddress`; a
   * broadcast to `clients` websockets, `rounds` times; the long-polling echo at `clients`.
   */
  scale: {
    levels: quick([1000, 10_000, 25_000, 50_000], [1000, 2000]),
    perGenerator: quick(12_500, 1000),
    perAddress: quick(5000, 500),
    connectTimeoutMs: 20_000,
    broadcast: { clients: quick(10_000, 1000), rounds: quick(20, 10), size: 100, timeoutMs: 30_000 },
    pollEcho: {
      clients: quick(1000, 200),
      payloadBytes: 64,
      warmupMs: quick(2000, 500),
      durationMs: quick(10_000, 1500),
    },
  },
  /** How long a memory level settles before RSS is read. */
  settleMs: quick(1500, 300),
  /** How long a fresh server idles before its idle RSS is read (see memoryCurve). */
  idleSettleMs: quick(10_000, 300),
};

/** Cores used by others above which a timed measurement is repeated. */
export const BUSY_CORES = 0.25;
export const MAX_ATTEMPTS = quick(3, 1);
/** Repeats stop once the run has taken this long, so a busy machine cannot stretch it past 15 minutes. */
export const REPEAT_BUDGET_MS = 9 * 60_000;
