/**
 * The inbound side of a plain connection. Every message `ws` assembled takes one of two ways:
 *
 *   ws 'message' ──► receive(message) ──► a handler is set (`onMessage`)? ──yes──► decode, call it
 *                                                   │no
 *                                                   ▼
 *                           one AsyncQueue ──► `messages` (QueueIterator, decoding), and
 *                                              `receiveMessage` / `receiveText` / `receiveBinary`
 *
 * The handler is the fast path: a message is decoded and handed over in the socket's own
 * event, with no queue, no promise and no tick. Without one, the queue holds the message and
 * its readers take it in arrival order, first come first served; the async iterator is a
 * reader of that same queue whose wait costs only the promise its `next()` returns, and a
 * burst of messages that arrives in one read is taken without waiting at all. Errors wait in
 * a second queue for `errors`.
 *
 * Receive buffer: queued messages, unread errors and handler promises not yet settled count
 * together; at `recvBuffer` reading the socket pauses, so TCP backpressure reaches the
 * client, and it resumes as they are taken.
 */
import type { RealtimeError } from '../errors.js';
import {
  AS_IS,
  AsyncQueue,
  QueueIterator,
  SKIP,
  STOP,
  type QueueStepper,
  type QueueWatcher,
  type Step,
} from '../hub/async-queue.js';
import { decodeWire, Invalid, type WireMessage } from './channels.js';
import type { ResolvedEndpointOptions } from './options.js';

/**
 * The fast path's handler: called with each decoded message as it arrives. It may return a
 * promise: until that settles, the message counts against `recvBuffer`.
 */
export type MessageHandler<T> = (value: T) => unknown;

/** What the inbox needs from its connection. */
export interface InboxOwner {
  /** Pauses (true) or resumes reading the socket. */
  setReceivePaused(isPaused: boolean): void;
  /** Applies the invalid-message policy; true when reading ends (the connection closes). */
  onInvalid(error: RealtimeError): boolean;
  /** A message handler threw or rejected. */
  onHandlerFailed(error: unknown): void;
}

export class Inbox<T> implements QueueWatcher, QueueStepper<WireMessage, T> {
  /** Made when a message has to wait or a reader comes: a connection with a handler never needs it. */
  private queue: AsyncQueue<WireMessage> | null = null;
  /** Made on the first error: most connections never have one. */
  private errorQueue: AsyncQueue<RealtimeError> | null = null;
  private handler: MessageHandler<T> | null = null;
  private isEnded = false;
  private pendingHandlers = 0;
  /** Settles a handler's promise: bound once, when the first promise comes. */
  private onHandlerSettled: (() => void) | null = null;
  private onHandlerRejected: ((error: unknown) => void) | null = null;

  constructor(
    private readonly owner: InboxOwner,
    private readonly options: ResolvedEndpointOptions<T>,
  ) {}

  /** Messages waiting to be read. */
  get length(): number {
    return this.queue?.length ?? 0;
  }

  /** One whole message from `ws`. */
  receive(message: WireMessage): void {
    if (this.handler !== null) {
      this.dispatch(this.handler, message);
      return;
    }
    const queue = this.queueOf();
    queue.push(message);
    if (queue.length !== 0) this.updatePause();
  }

  /**
   * Sets (or with null, removes) the fast path's handler. Messages already queued go to it
   * first, in order; from then on every message does, and the queue's readers wait.
   */
  setHandler(handler: MessageHandler<T> | null): void {
    this.handler = handler;
    const queue = this.queue;
    if (handler === null || queue === null) return;
    // The handler may replace itself: each message goes to whoever is set when it is taken.
    while (this.handler === handler) {
      const message = queue.shift();
      if (message === undefined) return;
      this.dispatch(handler, message);
    }
  }

  /** Puts an error on `errors` (it counts against the receive buffer until read). */
  report(error: RealtimeError): void {
    this.errorQueueOf().push(error);
    this.updatePause();
  }

  /** The next message, whatever its type; null once the connection has ended. */
  next(): Promise<WireMessage | null> {
    return this.queueOf().take();
  }

  /** Decoded messages in the endpoint's mode, until the connection ends (or the policy closes it). */
  messages(): AsyncIterableIterator<T> {
    return new QueueIterator(this.queueOf(), this);
  }

  errors(): AsyncIterableIterator<RealtimeError> {
    return new QueueIterator(this.errorQueueOf(), AS_IS as QueueStepper<RealtimeError, RealtimeError>);
  }

  /** The connection has ended: readers get what is queued, then the end. */
  end(): void {
    this.isEnded = true;
    this.queue?.end();
    this.errorQueue?.end();
  }

  /** @internal (QueueWatcher) a queued message or error was taken */
  taken(): void {
    this.updatePause();
  }

  private queueOf(): AsyncQueue<WireMessage> {
    if (this.queue === null) {
      this.queue = new AsyncQueue<WireMessage>(this);
      if (this.isEnded) this.queue.end();
    }
    return this.queue;
  }

  private errorQueueOf(): AsyncQueue<RealtimeError> {
    if (this.errorQueue === null) {
      this.errorQueue = new AsyncQueue<RealtimeError>(this);
      if (this.isEnded) this.errorQueue.end();
    }
    return this.errorQueue;
  }

  /** @internal (QueueStepper) what `messages` yields for one message */
  step(message: WireMessage): Step<T> {
    const { mode, validate, maxJsonDepth } = this.options;
    const decoded = decodeWire(mode, message, validate, maxJsonDepth);
    if (!(decoded instanceof Invalid)) return decoded;
    return this.owner.onInvalid(decoded.error) ? STOP : SKIP;
  }

  private dispatch(handler: MessageHandler<T>, message: WireMessage): void {
    const { mode, validate, maxJsonDepth } = this.options;
    const decoded = decodeWire(mode, message, validate, maxJsonDepth);
    if (decoded instanceof Invalid) {
      this.owner.onInvalid(decoded.error);
      return;
    }
    let result: unknown;
    try {
      result = handler(decoded);
    } catch (error) {
      this.owner.onHandlerFailed(error);
      return;
    }
    if (result !== SENT && isPromiseLike(result)) this.hold(result);
  }

  /** A handler's promise holds a place in the receive buffer until it settles. */
  private hold(promise: PromiseLike<unknown>): void {
    this.pendingHandlers++;
    this.updatePause();
    this.onHandlerSettled ??= () => {
      this.pendingHandlers--;
      this.updatePause();
    };
    this.onHandlerRejected ??= (error) => {
      this.onHandlerSettled?.();
      this.owner.onHandlerFailed(error);
    };
    promise.then(this.onHandlerSettled, this.onHandlerRejected);
  }

  private updatePause(): void {
    const held = (this.queue?.length ?? 0) + (this.errorQueue?.length ?? 0) + this.pendingHandlers;
    this.owner.setReceivePaused(held >= this.options.recvBuffer);
  }
}

/**
 * The promise `send()` returns when it could write at once: resolved, shared by every such
 * send (module-level and immutable). A handler that returns it holds no place in the buffer.
 */
export const SENT: Promise<void> = Promise.resolve();

/** Whether application code returned something to wait for. */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
