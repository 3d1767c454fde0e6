import fc from 'fast-check';

/**
 * fast-check parameters shared by the fuzz suites. `SWITCHYARD_FUZZ_SEED` reproduces a run
 * (fast-check prints the seed and path of a failure); `SWITCHYARD_FUZZ_RUNS` scales every
 * property's run count (1 = the bounded default used by `npm test`).
 */
export function fuzzParameters<T>(numRuns: number): fc.Parameters<T> {
  const seed = process.env.SWITCHYARD_FUZZ_SEED;
  const scale = Number(process.env.SWITCHYARD_FUZZ_RUNS ?? '1');
  return {
    numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1))),
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    endOnFailure: true,
  };
}
