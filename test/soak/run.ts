/**
 * `npm run soak`: ten minutes of connect/disconnect churn over every transport with room
 * traffic and broadcasts (test/soak/churn.ts), a sample of the idle server every 10 s, then
 * the leak rule. Exits 1 on a leak or when more than 2 % of the visits failed (a starved
 * machine makes some late; more means the churn did not do its job).
 * `SOAK_MINUTES` changes the length (default 10); runs under `node --expose-gc`.
 */
import { describeSample, judge, runChurn, startSoakServer, type Sample } from './churn.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? '10');
const CYCLE_MS = 10_000;
const MAX_FAILED_SHARE = 0.02;

async function main(): Promise<number> {
  const started = await startSoakServer();
  let baseline: Sample | undefined;
  try {
    process.stdout.write(`soak: ${MINUTES} min of churn on ${started.baseUrl}, a sample every ${CYCLE_MS / 1000} s\n`);
    const run = await runChurn(started, {
      durationMs: MINUTES * 60_000,
      cycleMs: CYCLE_MS,
      onSample: (s) => {
        baseline ??= s;
        process.stdout.write(describeSample(s, baseline) + '\n');
      },
    });
    const reasons = judge(run.samples);
    // Failed visits by kind and reason (a visit waits at most 10 s for its echo and fan-out).
    const kinds = new Map<string, number>();
    for (const failure of run.failures) kinds.set(failure.slice(0, 120), (kinds.get(failure.slice(0, 120)) ?? 0) + 1);
    for (const [kind, count] of kinds) process.stdout.write(`failed ${count}× ${kind}\n`);
    const last = run.samples[run.samples.length - 1]!;
    const failedShare = run.failures.length / Math.max(1, last.visits + run.failures.length);
    if (failedShare > MAX_FAILED_SHARE) reasons.push(`${run.failures.length} visits failed, e.g. ${run.failures[0]}`);
    process.stdout.write(reasons.length === 0 ? 'soak: no leak\n' : `soak: LEAK\n  ${reasons.join('\n  ')}\n`);
    return reasons.length === 0 ? 0 : 1;
  } finally {
    await started.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${String(error)}\n`);
    process.exit(1);
  },
);
