/**
 * Raw clients of the legacy HTTP and draft-websocket transports, on real sockets:
 * `node:http` reading htmlfile and xhr-multipart streams chunk by chunk, a JSONP poll loop
 * that runs each answer as a script in a `vm` context, and a hixie-76 / hixie-75 client
 * written over raw TCP. Each records every payload (as received) and every decoded message;
 * the first frame is the session id, as the 0.6 client reads it.
 */
import { createHash } from 'node:crypto';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createContext, runInContext, runInNewContext, type Context } from 'node:vm';
import { decode, encodeFrame } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';
import { takeMatching, waitFor } from './wait-for.js';

/** What every test client offers. */
export abstract class LegacyClient {
  /** Raw pieces as the wire delivered them (chunks, script bodies, frames). */
  readonly raw: string[] = [];
  readonly payloads: string[] = [];
  readonly messages: InboundMessage[] = [];
  sessionId = '';
  isEnded = false;
  /** Heartbeat echoes that could not be sent (the server went away). */
  readonly echoErrors: unknown[] = [];
  /** Echo heartbeats as the 0.6 client does. */
  echoHeartbeats = true;

  constructor(readonly baseUrl: string) {}

  abstract send(payload: string): Promise<number>;
  abstract close(): void;

  protected onPayload(payload: string): void {
    this.payloads.push(payload);
    const result = decode(payload);
    if (!result.ok) throw result.error;
    for (const message of result.value) {
      if (this.sessionId === '' && message.type === 'text') {
        this.sessionId = message.data;
        continue;
      }
      this.messages.push(message);
      if (message.type === 'heartbeat' && this.echoHeartbeats) {
        // An echo still in flight when a test closes its server fails; keep it, don't throw.
        this.send(encodeFrame('~h~' + message.data)).catch((error: unknown) => this.echoErrors.push(error));
      }
    }
  }

  async waitForSession(): Promise<string> {
    await waitFor(() => this.sessionId !== '', { what: 'the session id frame' });
    return this.sessionId;
  }

  /** Takes the first message matching `predicate` out of the list. */
  async nextMessage(
    predicate: (m: InboundMessage) => boolean = (m) => m.type !== 'heartbeat',
  ): Promise<InboundMessage> {
    return takeMatching(this.messages, predicate);
  }
}

/** POSTs `data=<payload>` form-encoded; resolves with the status. */
export async function postSend(
  url: string,
  payload: string,
  encode: (text: string) => string = encodeURIComponent,
): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
    body: 'data=' + encode(payload),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The payloads framed in a stream so far, and what is left over. */
export type StreamParser = (buffer: string) => { payloads: string[]; rest: string };

const SCRIPT_CHUNK = /^<script>parent\.s\._\(("(?:[^"\\<>&\u2028\u2029]|\\.)*"), document\);<\/script>/;

/** htmlfile: after the 256-byte preamble, one exact `<script>` element per payload. */
export const parseHtmlfile: StreamParser = (buffer) => {
  const payloads: string[] = [];
  let rest = buffer;
  if (rest.startsWith('<html><body>')) {
    if (rest.length < 256) return { payloads, rest };
    if (rest.slice(12, 256) !== ' '.repeat(244)) throw new Error('bad htmlfile preamble');
    rest = rest.slice(256);
  }
  for (let match = SCRIPT_CHUNK.exec(rest); match !== null; match = SCRIPT_CHUNK.exec(rest)) {
    payloads.push(JSON.parse(match[1] as string) as string);
    rest = rest.slice(match[0].length);
  }
  // Anything but the start of the next exact wrapper means a payload broke out as markup.
  const opening = '<script>parent.s._(';
  if (rest.includes('</script>') || !(rest.startsWith(opening) || opening.startsWith(rest))) {
    throw new Error(`unexpected htmlfile bytes: ${JSON.stringify(rest.slice(0, 80))}`);
  }
  return { payloads, rest };
};

const PART = /^Content-Type: text\/plain\n\n([\s\S]*?)\n--socketio\n/;

/** xhr-multipart: `--socketio\n`, then `Content-Type: text/plain\n\n<payload>\n--socketio\n` each. */
export const parseMultipart: StreamParser = (buffer) => {
  const payloads: string[] = [];
  let rest = buffer;
  if (rest.startsWith('--socketio\n')) rest = rest.slice('--socketio\n'.length);
  for (let match = PART.exec(rest); match !== null; match = PART.exec(rest)) {
    payloads.push(match[1] as string);
    rest = rest.slice(match[0].length);
  }
  return { payloads, rest };
};

/** A streaming GET (htmlfile, xhr-multipart) read chunk by chunk with `node:http`. */
export class StreamClient extends LegacyClient {
  response: IncomingMessage | undefined;
  private buffer = '';
  private req: ClientRequest | undefined;

  constructor(
    baseUrl: string,
    readonly transport: 'htmlfile' | 'xhr-multipart',
    private readonly parse: StreamParser,
  ) {
    super(baseUrl);
  }

  static async open(baseUrl: string, transport: 'htmlfile' | 'xhr-multipart', sessionId = ''): Promise<StreamClient> {
    const client = new StreamClient(baseUrl, transport, transport === 'htmlfile' ? parseHtmlfile : parseMultipart);
    client.sessionId = sessionId;
    const path = transport === 'htmlfile' ? `${sessionId}/${Date.now()}` : sessionId;
    await client.get(`${baseUrl}/socket.io/${transport}/${path}`);
    return client;
  }

  private get(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.req = request(url, (res) => {
        this.response = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          this.raw.push(chunk);
          this.buffer += chunk;
          const { payloads, rest } = this.parse(this.buffer);
          this.buffer = rest;
          for (const payload of payloads) this.onPayload(payload);
        });
        res.on('close', () => {
          this.isEnded = true;
        });
        resolve();
      });
      this.req.on('error', (error) => {
        this.isEnded = true;
        reject(error);
      });
      this.req.end();
    });
  }

  send(payload: string): Promise<number> {
    return postSend(`${this.baseUrl}/socket.io/${this.transport}/${this.sessionId}/send`, payload);
  }

  close(): void {
    this.req?.destroy();
  }
}

/**
 * The jsonp-polling loop: each answer is run as a script (in a fresh `vm` context holding
 * only `io.JSONP`), exactly one callback call is expected, then the next poll goes out.
 */
export class JsonpClient extends LegacyClient {
  readonly statuses: number[] = [];
  private isStopped = false;
  /** Pause between polls (to open a gap the reconnect window must cover). */
  gapMs = 0;

  constructor(
    baseUrl: string,
    readonly index = 0,
  ) {
    super(baseUrl);
  }

  static start(baseUrl: string, index = 0, sessionId = ''): JsonpClient {
    const client = new JsonpClient(baseUrl, index);
    client.sessionId = sessionId;
    void client.loop();
    return client;
  }

  /** Runs one answer body; returns the payloads its callback calls received. */
  static run(body: string, index: number): string[] {
    const calls: string[] = [];
    const JSONP: unknown[] = [];
    JSONP[index] = { _: (payload: string) => calls.push(payload) };
    runInNewContext(body, { io: { JSONP } }, { timeout: 1_000 });
    return calls;
  }

  /** The loop's own context, made once: a fresh V8 context per poll costs milliseconds of CPU. */
  private context: Context | undefined;
  private readonly calls: string[] = [];

  /** `run`, in this client's one context: `io.JSONP[index]._` records the calls of one answer. */
  private runHere(body: string): string[] {
    this.calls.length = 0;
    if (this.context === undefined) {
      const JSONP: unknown[] = [];
      JSONP[this.index] = { _: (payload: string) => this.calls.push(payload) };
      this.context = createContext({ io: { JSONP } });
    }
    // No `timeout` here: each one starts a watchdog thread, too dear per poll under load. The
    // server's script output is proven to be one call by test/fuzz/script-output.fuzz.test.ts.
    runInContext(body, this.context);
    return [...this.calls];
  }

  private async loop(): Promise<void> {
    try {
      await this.pollUntilStopped();
    } catch (error) {
      // A server closed under a running poll (end of a test) is how a loop normally ends.
      if (!this.isStopped) this.error = error;
    }
    this.isEnded = true;
  }

  /** What ended the loop, if something unexpected did. */
  error: unknown;

  private async pollUntilStopped(): Promise<void> {
    for (let polls = 0; polls < 10_000 && !this.isStopped; polls++) {
      const res = await fetch(`${this.baseUrl}/socket.io/jsonp-polling/${this.sessionId}/${Date.now()}/${this.index}`);
      const body = await res.text();
      this.statuses.push(res.status);
      if (res.status !== 200 || this.isStopped) break;
      this.raw.push(body);
      const calls = this.runHere(body);
      if (calls.length !== 1) throw new Error(`expected one callback call, got ${calls.length}: ${body}`);
      if (calls[0] !== '') this.onPayload(calls[0] as string);
      if (this.gapMs > 0) await new Promise((resolve) => setTimeout(resolve, this.gapMs));
    }
  }

  /** A send as the hidden form makes it: form encoding, line breaks turned into CRLF. */
  send(payload: string): Promise<number> {
    const formEncode = (text: string) =>
      encodeURIComponent(text.replace(/\r\n|\r|\n/g, '\r\n'))
        .replace(/%20/g, '+')
        .replace(/~/g, '%7E');
    return postSend(
      `${this.baseUrl}/socket.io/jsonp-polling/${this.sessionId}/${Date.now()}/${this.index}`,
      payload,
      formEncode,
    );
  }

  close(): void {
    this.isStopped = true;
  }
}

/** The hixie-76 answer to a challenge (what the server must send after its headers). */
export function hixie76Answer(key1: string, key2: string, key3: Buffer): Buffer {
  const number = (key: string) => Number(key.replace(/\D/g, '')) / (key.match(/ /g) ?? []).length;
  const input = Buffer.alloc(16);
  input.writeUInt32BE(number(key1), 0);
  input.writeUInt32BE(number(key2), 4);
  key3.copy(input, 8);
  return createHash('md5').update(input).digest();
}

// The example keys of draft-hixie-thewebsocketprotocol-76 §1.3.
const KEY1 = '4 @1  46546xW%0l 1 5';
const KEY2 = '12998 5 Y3 1  .P00';
const KEY3 = Buffer.from('^n:ds[4U', 'latin1');

/** A draft websocket client (hixie-76 by default, as Safari 5 and Flash spoke it) over raw TCP. */
export class HixieClient extends LegacyClient {
  head = '';
  private readonly socket: Socket;
  private received = Buffer.alloc(0);
  isOpen = false;

  private constructor(
    baseUrl: string,
    path: string,
    readonly draft: 75 | 76,
  ) {
    super(baseUrl);
    const url = new URL(baseUrl);
    this.socket = connect(Number(url.port), url.hostname);
    const headers = [
      `GET ${path} HTTP/1.1`,
      'Upgrade: WebSocket',
      'Connection: Upgrade',
      `Host: ${url.host}`,
      `Origin: ${baseUrl}`,
      ...(draft === 76 ? [`Sec-WebSocket-Key1: ${KEY1}`, `Sec-WebSocket-Key2: ${KEY2}`] : []),
    ];
    const request = Buffer.from(headers.join('\r\n') + '\r\n\r\n', 'latin1');
    this.socket.write(draft === 76 ? Buffer.concat([request, KEY3]) : request);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('close', () => {
      this.isEnded = true;
    });
    this.socket.on('error', () => undefined);
  }

  /** With `sessionId`, re-attaches to that session (`path` must then end in it). */
  static async connect(baseUrl: string, path: string, draft: 75 | 76 = 76, sessionId = ''): Promise<HixieClient> {
    const client = new HixieClient(baseUrl, path, draft);
    client.sessionId = sessionId;
    // A connection the server cut during the handshake fails at once rather than at the timeout.
    const isReady = () => (sessionId === '' ? client.sessionId !== '' : client.isOpen);
    try {
      await waitFor(() => isReady() || client.isEnded, { what: 'the handshake' });
      if (!isReady()) throw new Error('the connection closed during the handshake');
    } catch (error) {
      // A handshake that took too long must not leave its socket (and a live session) behind.
      client.close();
      throw error;
    }
    return client;
  }

  /** The 16-byte answer the server must send for the test keys. */
  static expectedAnswer(): Buffer {
    return hixie76Answer(KEY1, KEY2, KEY3);
  }

  answer: Buffer | undefined;

  private onData(chunk: Buffer): void {
    this.received = Buffer.concat([this.received, chunk]);
    if (!this.isOpen) {
      const end = this.received.indexOf('\r\n\r\n');
      const bodyLength = this.draft === 76 ? 16 : 0;
      if (end === -1 || this.received.length < end + 4 + bodyLength) return;
      this.head = this.received.subarray(0, end).toString('latin1');
      this.answer = this.received.subarray(end + 4, end + 4 + bodyLength);
      this.received = this.received.subarray(end + 4 + bodyLength);
      this.isOpen = true;
    }
    for (;;) {
      if (this.received.length === 0) return;
      if (this.received[0] !== 0x00) return; // 0xFF 0x00: the closing handshake
      const end = this.received.indexOf(0xff);
      if (end === -1) return;
      const text = this.received.subarray(1, end).toString('utf8');
      this.received = this.received.subarray(end + 1);
      this.raw.push(text);
      this.onPayload(text);
    }
  }

  /** Stops reading the socket (the server's writes back up), or reads again. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  send(payload: string): Promise<number> {
    this.socket.write(Buffer.concat([Buffer.from([0x00]), Buffer.from(payload, 'utf8'), Buffer.from([0xff])]));
    return Promise.resolve(0);
  }

  close(): void {
    this.socket.destroy();
  }
}
