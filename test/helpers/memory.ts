/**
 * Live heap plus array buffers after a full collection (vitest runs with --expose-gc).
 * The backing stores of collected Buffers are released a turn later, so collect, yield and
 * collect again: otherwise megabytes of already-dead chunks can still count as retained.
 */
export async function retainedBytes(): Promise<number> {
  globalThis.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 10));
  globalThis.gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}
