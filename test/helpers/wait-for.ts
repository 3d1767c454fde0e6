/** Polls `predicate` until it holds or `timeoutMs` passes (then throws, naming `what`). */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  {
    timeoutMs = 5_000,
    intervalMs = 10,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Waits until `list` holds an item matching `predicate`, then takes the first such item out
 * of it (the clients' `nextMessage`).
 */
export async function takeMatching<T>(
  list: T[],
  predicate: (item: T) => boolean,
  { timeoutMs = 5_000, what = 'a matching message' }: { timeoutMs?: number; what?: string } = {},
): Promise<T> {
  let found: T | undefined;
  await waitFor(
    () => {
      const index = list.findIndex(predicate);
      if (index === -1) return false;
      found = list.splice(index, 1)[0];
      return true;
    },
    { timeoutMs, what },
  );
  return found as T;
}
