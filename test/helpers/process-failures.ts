/**
 * Records unhandled rejections and uncaught exceptions while a suite runs, so a test can
 * assert there were none (vitest would otherwise report them only at the end of the run).
 */
export function watchProcessFailures(): { list(): string[]; stop(): void } {
  const seen: string[] = [];
  const onRejection = (reason: unknown) => seen.push(`unhandledRejection: ${String(reason)}`);
  const onException = (error: Error) => seen.push(`uncaughtException: ${error.stack ?? String(error)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    list: () => [...seen],
    stop: () => {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}
