/**
 * Clients that keep one session across forced transport drops: after a drop they come back
 * with the same session id inside the reconnect window (as a custom client would; the stock
 * 0.6 client starts a new session instead). Each collects the text messages it received, in
 * order, and discards a poll answer that did not arrive whole (as XHR does). One entry per
 * transport; a new transport adds one.
 */
import { get } from 'node:http';
import { WebSocket } from 'ws';
import { decode } from '../../src/codecs/sio.js';
import { HixieClient, JsonpClient, parseHtmlfile, parseMultipart, type StreamParser } from './legacy-http.js';
import { waitFor } from './wait-for.js';

export interface ReconnectingClient {
  readonly name: string;
  /** Receives until `count` messages arrived or `timeoutMs` passed; `onOpen` gets the session id. */
  receive(baseUrl: string, count: number, timeoutMs: number, onOpen: (sessionId: string) => void): Promise<string[]>;
}

function textsOf(payload: string, skipHandshake: boolean): { sessionId?: string; texts: string[] } {
  const result = decode(payload);
  if (!result.ok) throw result.error;
  const texts: string[] = [];
  let sessionId: string | undefined;
  for (const message of result.value) {
    if (message.type !== 'text') continue;
    if (skipHandshake && sessionId === undefined) sessionId = message.data;
    else texts.push(message.data);
  }
  return sessionId === undefined ? { texts } : { sessionId, texts };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function websocketReceive(baseUrl: string, count: number, timeoutMs: number, onOpen: (id: string) => void) {
  const base = `${baseUrl.replace(/^http/, 'ws')}/socket.io/websocket`;
  const texts: string[] = [];
  let sessionId = '';
  const deadline = Date.now() + timeoutMs;
  const once = () =>
    new Promise<void>((resolve) => {
      const ws = new WebSocket(sessionId === '' ? base : `${base}/${sessionId}`);
      ws.on('message', (data) => {
        const decoded = textsOf(data.toString(), sessionId === '');
        if (decoded.sessionId !== undefined) {
          sessionId = decoded.sessionId;
          onOpen(sessionId);
        }
        texts.push(...decoded.texts);
        if (texts.length >= count) ws.close();
      });
      ws.on('error', () => undefined);
      const timer = setTimeout(() => ws.terminate(), Math.max(0, deadline - Date.now()));
      ws.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  return (async () => {
    while (texts.length < count && Date.now() < deadline) {
      await once();
      await pause(5);
    }
    return texts;
  })();
}

/** One GET; resolves with the whole body, or null when the answer did not arrive whole. */
function getWhole(url: string): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const request = get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      // As XHR: a body that arrived whole counts, even if the connection is reset right after.
      const settle = () => {
        const body = Buffer.concat(chunks);
        const isWhole = body.length === Number(res.headers['content-length']);
        resolve(isWhole ? { status: res.statusCode ?? 0, body: body.toString() } : null);
      };
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', settle);
      res.on('error', settle);
      res.on('aborted', settle);
      res.on('close', settle);
    });
    request.on('error', () => resolve(null));
  });
}

function xhrPollingReceive(baseUrl: string, count: number, timeoutMs: number, onOpen: (id: string) => void) {
  const base = `${baseUrl}/socket.io/xhr-polling`;
  const texts: string[] = [];
  let sessionId = '';
  const deadline = Date.now() + timeoutMs;
  return (async () => {
    while (texts.length < count && Date.now() < deadline) {
      const answer = await getWhole(sessionId === '' ? `${base}//${Date.now()}` : `${base}/${sessionId}/${Date.now()}`);
      if (answer === null) {
        await pause(5);
        continue;
      }
      if (answer.status !== 200) throw new Error(`poll answered ${answer.status}: ${answer.body}`);
      const decoded = textsOf(answer.body, sessionId === '');
      if (decoded.sessionId !== undefined) {
        sessionId = decoded.sessionId;
        onOpen(sessionId);
      }
      texts.push(...decoded.texts);
    }
    return texts;
  })();
}

/** Collects the session id and texts of one answer or chunk into `state`. */
function collect(state: { sessionId: string; texts: string[] }, payload: string, onOpen: (id: string) => void): void {
  const decoded = textsOf(payload, state.sessionId === '');
  if (decoded.sessionId !== undefined) {
    state.sessionId = decoded.sessionId;
    onOpen(state.sessionId);
  }
  state.texts.push(...decoded.texts);
}

/**
 * One streaming GET (htmlfile, xhr-multipart) read until it ends or the deadline; only whole
 * chunks count (the parser keeps a cut one back, and it is dropped with the connection).
 */
function streamOnce(url: string, parse: StreamParser, onPayload: (payload: string) => boolean, deadline: number) {
  return new Promise<void>((resolve) => {
    let buffer = '';
    const request = get(url, { agent: false }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const { payloads, rest } = parse(buffer + chunk);
        buffer = rest;
        // onPayload says whether enough has arrived: then the stream is closed.
        if (payloads.map(onPayload).includes(true)) request.destroy();
      });
      res.on('close', () => resolve());
    });
    const timer = setTimeout(() => request.destroy(), Math.max(0, deadline - Date.now()));
    request.on('close', () => clearTimeout(timer));
    request.on('error', () => resolve());
  });
}

function streamReceive(transport: 'htmlfile' | 'xhr-multipart', parse: StreamParser): ReconnectingClient['receive'] {
  return async (baseUrl, count, timeoutMs, onOpen) => {
    const state = { sessionId: '', texts: [] as string[] };
    const deadline = Date.now() + timeoutMs;
    const pathOf = (id: string) => (transport === 'htmlfile' ? `${id}/${Date.now()}` : id);
    while (state.texts.length < count && Date.now() < deadline) {
      const onPayload = (payload: string) => {
        collect(state, payload, onOpen);
        return state.texts.length >= count;
      };
      await streamOnce(`${baseUrl}/socket.io/${transport}/${pathOf(state.sessionId)}`, parse, onPayload, deadline);
      await pause(5);
    }
    return state.texts;
  };
}

/** The jsonp-polling loop, each answer run as a script; a cut answer is dropped, as a browser would. */
async function jsonpReceive(baseUrl: string, count: number, timeoutMs: number, onOpen: (id: string) => void) {
  const state = { sessionId: '', texts: [] as string[] };
  const deadline = Date.now() + timeoutMs;
  while (state.texts.length < count && Date.now() < deadline) {
    const answer = await getWhole(`${baseUrl}/socket.io/jsonp-polling/${state.sessionId}/${Date.now()}/3`);
    if (answer === null) {
      await pause(5);
      continue;
    }
    if (answer.status !== 200) throw new Error(`jsonp poll answered ${answer.status}: ${answer.body}`);
    const calls = JsonpClient.run(answer.body, 3);
    if (calls.length !== 1) throw new Error(`expected one callback call, got ${calls.length}`);
    if (calls[0] !== '') collect(state, calls[0]!, onOpen);
  }
  return state.texts;
}

/** A draft websocket (hixie-75 on websocket, hixie-76 on flashsocket) re-attached by path. */
function hixieReceive(transport: 'websocket' | 'flashsocket', draft: 75 | 76): ReconnectingClient['receive'] {
  return async (baseUrl, count, timeoutMs, onOpen) => {
    const texts: string[] = [];
    let sessionId = '';
    const deadline = Date.now() + timeoutMs;
    const textsOf = (client: HixieClient) => client.messages.flatMap((m) => (m.type === 'text' ? [m.data] : []));
    while (texts.length < count && Date.now() < deadline) {
      const path = `/socket.io/${transport}${sessionId === '' ? '' : `/${sessionId}`}`;
      const client = await HixieClient.connect(baseUrl, path, draft, sessionId).catch(() => null);
      if (client === null) {
        await pause(5);
        continue;
      }
      if (sessionId === '') {
        sessionId = client.sessionId;
        onOpen(sessionId);
      }
      await waitFor(() => client.isEnded || texts.length + textsOf(client).length >= count, {
        timeoutMs: Math.max(0, deadline - Date.now()),
        what: 'the end of the connection',
      }).catch(() => undefined);
      client.close();
      texts.push(...textsOf(client));
    }
    return texts;
  };
}

export const RECONNECTING_CLIENTS: readonly ReconnectingClient[] = [
  { name: 'websocket (hixie-75)', receive: hixieReceive('websocket', 75) },
  { name: 'flashsocket (hixie-76)', receive: hixieReceive('flashsocket', 76) },
  { name: 'websocket', receive: websocketReceive },
  { name: 'xhr-polling', receive: xhrPollingReceive },
  { name: 'htmlfile', receive: streamReceive('htmlfile', parseHtmlfile) },
  { name: 'xhr-multipart', receive: streamReceive('xhr-multipart', parseMultipart) },
  { name: 'jsonp-polling', receive: jsonpReceive },
];
