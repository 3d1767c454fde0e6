/**
 * xhr-polling by hand, with a browser's cookie jar: every request carries the jar's cookies
 * for the resource and every answer's `Set-Cookie` goes into it (unless a test says the
 * answer was lost). For tests of the session cookie: resume, acknowledgements.
 */
import { request, type ClientRequest } from 'node:http';
import { decode, encodeFrame } from '../../src/codecs/sio.js';
import type { InboundMessage } from '../../src/codecs/types.js';
import { WebSocket } from 'ws';
import { CookieJar } from './cookie-jar.js';
import { waitFor } from './wait-for.js';

export interface PollAnswer {
  readonly status: number;
  readonly messages: InboundMessage[];
  readonly setCookie: string[];
}

export class JarPollClient {
  sessionId = '';

  constructor(
    readonly baseUrl: string,
    readonly jar = new CookieJar(),
    readonly resource = 'socket.io',
  ) {}

  /** A new handshake (no session id), as the 0.6 client makes after any failure. */
  async handshake(): Promise<PollAnswer> {
    const answer = await this.get(`/${this.resource}/xhr-polling//${Date.now()}`);
    const first = answer.messages.shift();
    if (first?.type !== 'text') throw new Error(`no session id frame (status ${answer.status})`);
    this.sessionId = first.data;
    return answer;
  }

  /** One poll; `keepCookies: false` plays an answer whose cookie never reached the browser. */
  poll(options: { keepCookies?: boolean } = {}): Promise<PollAnswer> {
    return this.get(`/${this.resource}/xhr-polling/${this.sessionId}/${Date.now()}`, options.keepCookies);
  }

  /** A poll that the client abandons after `afterMs` (the browser navigated, the network broke). */
  abandonedPoll(afterMs: number): Promise<void> {
    return new Promise((resolve) => {
      const req = this.start(`/${this.resource}/xhr-polling/${this.sessionId}/${Date.now()}`, 'GET', () => undefined);
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve();
      }, afterMs);
    });
  }

  /** Sends one message (POST `data=`); resolves with the status. */
  send(text: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = this.start(`/${this.resource}/xhr-polling/${this.sessionId}/send`, 'POST', (res) => {
        this.jar.store(res.headers['set-cookie']);
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.setHeader('Content-Type', 'application/x-www-form-urlencoded');
      req.end(`data=${encodeURIComponent(encodeFrame(text))}`);
    });
  }

  private get(path: string, keepCookies = true): Promise<PollAnswer> {
    return new Promise((resolve, reject) => {
      const req = this.start(path, 'GET', (res) => {
        const setCookie = res.headers['set-cookie'] ?? [];
        if (keepCookies) this.jar.store(setCookie);
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const decoded = res.statusCode === 200 && body !== '' ? decode(body) : { ok: true as const, value: [] };
          if (!decoded.ok) return reject(decoded.error);
          resolve({ status: res.statusCode ?? 0, messages: decoded.value, setCookie });
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  private start(path: string, method: string, onResponse: Parameters<typeof request>[2]): ClientRequest {
    const cookie = this.jar.header(path);
    const headers: Record<string, string> = cookie === undefined ? {} : { Cookie: cookie };
    return request(`${this.baseUrl}${path}`, { method, headers, agent: false }, onResponse);
  }
}

/** A 0.6 websocket handshake carrying the jar's cookies; records every text message after the session id. */
export async function jarWebSocket(
  wsUrl: string,
  jar: CookieJar,
): Promise<{ ws: WebSocket; sessionId: string; texts: string[] }> {
  const cookie = jar.header('/socket.io/websocket');
  const ws = new WebSocket(`${wsUrl}/socket.io/websocket`, { headers: cookie === undefined ? {} : { Cookie: cookie } });
  ws.on('upgrade', (res) => jar.store(res.headers['set-cookie']));
  const texts: string[] = [];
  let sessionId = '';
  ws.on('message', (data) => {
    const decoded = decode(data.toString());
    if (!decoded.ok) throw decoded.error;
    for (const message of decoded.value) {
      if (message.type !== 'text') continue;
      if (sessionId === '') sessionId = message.data;
      else texts.push(message.data);
    }
  });
  await waitFor(() => sessionId !== '', { what: 'the session id frame' });
  return { ws, sessionId, texts };
}
