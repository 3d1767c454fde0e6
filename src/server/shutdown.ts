/**
 * Graceful shutdown in three phases:
 *
 *   serving ──close()──▶ draining ──every part closed, or drainTimeoutMs──▶ closed
 *
 * draining: new sessions, sockets and connections are refused (503 `ERR_SHUTTING_DOWN`);
 *   existing ones are told in their own protocol and still served, so their queues flush (a
 *   503 poll would make the 0.6 client drop its session and everything queued for it).
 * closed: every request is answered 503 `ERR_SHUTTING_DOWN` with `Connection: close`, never
 *   reset, until the listener closes: a standalone server keeps listening for up to
 *   `closeGraceMs` (less once no connection is left), because closing the listener also cuts
 *   idle keep-alive sockets, and a poll already on its way over one would be reset.
 */
import type { Server as HttpServer } from 'node:http';

/** Something a server shuts down: one family's connections, or the upgraded sockets. */
export interface Drainable {
  /** Says goodbye in its own protocol and flushes; resolves (if async) once all is closed. */
  shutdown(): Promise<void> | void;
  /** Past the deadline: ends what is left, reporting what is lost. */
  terminate?(): void;
}

export type ShutdownPhase = 'serving' | 'draining' | 'closed';

export class Shutdown {
  private phaseValue: ShutdownPhase = 'serving';
  private drained: Promise<void> | undefined;

  constructor(
    /** The parts, in the order they are told (upgraded sockets last: they close after their sessions). */
    private readonly parts: () => readonly Drainable[],
    private readonly drainTimeoutMs: number,
    /** Last of all, once every part is done (the broker goes). */
    private readonly finish: () => Promise<void>,
  ) {}

  get phase(): ShutdownPhase {
    return this.phaseValue;
  }

  /** Runs the drain once; every later call waits for the same one. */
  drain(): Promise<void> {
    this.drained ??= this.run();
    return this.drained;
  }

  private async run(): Promise<void> {
    this.phaseValue = 'draining';
    const parts = this.parts();
    const closed = parts.map((part) => part.shutdown());
    await withDeadline(Promise.all(closed), this.drainTimeoutMs);
    // Past the deadline: what could not be delivered is reported lost (info.lostMessages).
    for (const part of parts) part.terminate?.();
    await this.finish();
    this.phaseValue = 'closed';
  }
}

/** Resolves when `promise` does or `timeoutMs` has passed, whichever is first. */
async function withDeadline(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([promise, deadline]);
  clearTimeout(timer);
}

/** How often the closed phase looks whether any connection is left. */
const CONNECTION_CHECK_MS = 20;
/**
 * A closed server waits no longer once no request has come for this long: clients that poll
 * (the 0.6 client polls again at once after an answer) have had their answer, and what is
 * left are idle keep-alive sockets nobody is about to use.
 */
const QUIET_MS = 100;

/**
 * The closed phase of a standalone server: resolves once `server` has no connection left, no
 * request has come for a while, or `graceMs` has passed. Requests in the meantime are
 * answered 503 with `Connection: close`, so each socket that brings one is closed by the
 * answer rather than reset.
 */
export async function waitForConnectionsToEnd(server: HttpServer, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  let lastRequestAt = Date.now();
  const onRequest = (): void => {
    lastRequestAt = Date.now();
  };
  server.on('request', onRequest);
  try {
    while (Date.now() < deadline && Date.now() - lastRequestAt < QUIET_MS && (await connectionCount(server)) > 0) {
      await new Promise((resolve) => setTimeout(resolve, CONNECTION_CHECK_MS));
    }
  } finally {
    server.off('request', onRequest);
  }
}

function connectionCount(server: HttpServer): Promise<number> {
  return new Promise((resolve) => server.getConnections((error, count) => resolve(error === null ? count : 0)));
}

/**
 * Calls `onSignal` on the first SIGINT or SIGTERM (once: a second signal kills as usual).
 * Returns the function that stops listening.
 */
export function onShutdownSignal(onSignal: (signal: NodeJS.Signals) => void): () => void {
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
