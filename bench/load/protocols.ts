/**
 * Hand-written clients of each protocol, lean enough that the generator is never the
 * bottleneck. Each turns "send this text" into the protocol's framing and hands every
 * application message it receives to `onMessage`; it answers heartbeats and pings itself.
 *
 *   raw          RFC 6455 text frames, nothing else
 *   sio06-ws     Socket.IO 0.6 over RFC 6455: `~m~LEN~m~DATA`, `~h~N` echoed   (Switchyard)
 *   sio06-hixie  the same frames over hixie-75 (0x00 … 0xFF)                    (0.6.18)
 *   sio06-xhr    0.6 xhr-polling: GET /socket.io/xhr-polling/<id>/<ts>, POST …/send data=…
 *   eio-ws       engine.io v4: `0{…}` open, `4DATA`, `2` ping → `3` pong
 *   eio-poll     the same packets over polling, joined by 0x1e
 *   sio4-ws      socket.io v4 over engine.io: `40` connect, `42["message",DATA]`
 *   sio4-poll    the same over polling
 *   sockjs-ws    SockJS: `o` open, `h` heartbeat, `a[…]` messages; sends `["DATA"]`
 *   sockjs-xhr   SockJS xhr: POST …/xhr held, POST …/xhr_send
 *   http         raw node:http: a POST whose answer is the echo
 *   sac-sock     sacrificial-socket over RFC 6455, subprotocol `sac-sock`: sends
 *                `message\x02DATA`, receives `message\x01S\x02DATA`               (Switchyard)
 *   plain        RFC 6455 text frames at /plain, nothing else    (Switchyard plain endpoint)
 */
import { randomBytes } from 'node:crypto';
import { decodeFrames, encodeFrame } from '../../src/codecs/sio.js';
import { FORM, gate, http, isOk, noteFailure, openWs, Poller, type Connector, type OnMessage } from './client-kit.js';
import { HixieSocket } from './hixie.js';

export { failures, type BenchClient, type Connector, type OnMessage } from './client-kit.js';

export const PROTOCOLS = [
  'raw',
  'sio06-ws',
  'sio06-hixie',
  'sio06-xhr',
  'eio-ws',
  'eio-poll',
  'sio4-ws',
  'sio4-poll',
  'sockjs-ws',
  'sockjs-xhr',
  'http',
  'sac-sock',
  'plain',
] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

// ── Socket.IO 0.6 ─────────────────────────────────────────────────────────────────────────

/** Handles one 0.6 payload; returns the frames to send back (heartbeat echoes). */
function sio06Payload(payload: string, state: { sessionId: string }, onMessage: OnMessage): string {
  const frames = decodeFrames(payload);
  if (!frames.ok) throw new Error(`bad 0.6 payload: ${frames.error.message}`);
  let reply = '';
  for (const frame of frames.value) {
    if (state.sessionId === '') state.sessionId = frame;
    else if (frame.startsWith('~h~')) reply += encodeFrame(frame);
    else onMessage(frame);
  }
  return reply;
}

const sio06Ws: Connector = async (port, onMessage, from) => {
  const state = { sessionId: '' };
  const ready = gate();
  const ws = await openWs(
    `ws://127.0.0.1:${port}/socket.io/websocket`,
    (text, socket) => {
      const reply = sio06Payload(text, state, onMessage);
      if (reply !== '') socket.send(reply);
      if (state.sessionId !== '') ready.open();
    },
    from,
  );
  await ready.promise;
  return { send: (text) => ws.send(encodeFrame(text)), close: () => ws.terminate() };
};

const sio06Hixie: Connector = async (port, onMessage) => {
  const state = { sessionId: '' };
  const ready = gate();
  const socket: HixieSocket = await HixieSocket.open(port, '/socket.io/websocket', (text) => {
    const reply = sio06Payload(text, state, onMessage);
    if (reply !== '') socket.send(reply);
    if (state.sessionId !== '') ready.open();
  });
  await ready.promise;
  return { send: (text) => socket.send(encodeFrame(text)), close: () => socket.close() };
};

const sio06Xhr: Connector = async (port, onMessage, from) => {
  const client = http(port, from);
  const state = { sessionId: '' };
  const base = '/socket.io/xhr-polling';
  const post = (payload: string) =>
    client.post(`${base}/${state.sessionId}/send`, 'data=' + encodeURIComponent(payload), FORM).then(isOk, noteFailure);
  const first = await client.get(`${base}//${Date.now()}`);
  const handle = (body: string) => {
    const reply = body === '' ? '' : sio06Payload(body, state, onMessage);
    if (reply !== '') void post(reply);
  };
  handle(first.body);
  const poller = new Poller(() => client.get(`${base}/${state.sessionId}/${Date.now()}`), handle);
  return {
    send: (text) => post(encodeFrame(text)),
    close: () => {
      poller.stop();
      client.close();
    },
  };
};

// ── engine.io v4 and socket.io v4 ─────────────────────────────────────────────────────────

const SEPARATOR = '\x1e';

interface EioFlavour {
  readonly path: string;
  /** Wraps text as the engine.io message packet's data. */
  wrap(text: string): string;
  /** The text of a message packet's data, or null when it is not an application message. */
  unwrap(data: string): string | null;
  /** Sent right after the open packet (socket.io's namespace connect). */
  readonly connect?: string;
}

const ENGINE: EioFlavour = { path: '/engine.io/', wrap: (text) => text, unwrap: (data) => data };
const SOCKET_IO: EioFlavour = {
  path: '/socket.io/',
  wrap: (text) => '2' + JSON.stringify(['message', text]),
  unwrap: (data) => (data.startsWith('2') ? (JSON.parse(data.slice(1)) as [string, string])[1] : null),
  connect: '0',
};

/** Handles one engine.io packet; returns a packet to send back, if any. */
function eioPacket(packet: string, flavour: EioFlavour, onMessage: OnMessage, onConnected: () => void): string {
  switch (packet[0]) {
    case '2':
      return '3';
    case '4': {
      const data = packet.slice(1);
      // socket.io's namespace connect answer (`0{"sid":…}`) marks the session usable.
      if (flavour.connect !== undefined && data.startsWith('0')) {
        onConnected();
        return '';
      }
      const text = flavour.unwrap(data);
      if (text !== null) onMessage(text);
      return '';
    }
    case '0':
      if (flavour.connect === undefined) onConnected();
      return flavour.connect === undefined ? '' : '4' + flavour.connect;
    default:
      return '';
  }
}

function eioWs(flavour: EioFlavour): Connector {
  return async (port, onMessage, from) => {
    const ready = gate();
    const url = `ws://127.0.0.1:${port}${flavour.path}?EIO=4&transport=websocket`;
    const ws = await openWs(
      url,
      (text, socket) => {
        const reply = eioPacket(text, flavour, onMessage, ready.open);
        if (reply !== '') socket.send(reply);
      },
      from,
    );
    await ready.promise;
    return { send: (text) => ws.send('4' + flavour.wrap(text)), close: () => ws.terminate() };
  };
}

function eioPoll(flavour: EioFlavour): Connector {
  return async (port, onMessage, from) => {
    const client = http(port, from);
    const ready = gate();
    let query = `${flavour.path}?EIO=4&transport=polling`;
    const post = (body: string) => client.post(query, body, 'text/plain;charset=UTF-8').then(isOk, noteFailure);
    const handle = (body: string) => {
      const replies: string[] = [];
      for (const packet of body.split(SEPARATOR)) {
        if (packet.startsWith('0')) query += '&sid=' + (JSON.parse(packet.slice(1)) as { sid: string }).sid;
        const reply = eioPacket(packet, flavour, onMessage, ready.open);
        if (reply !== '') replies.push(reply);
      }
      if (replies.length > 0) void post(replies.join(SEPARATOR));
    };
    handle((await client.get(query)).body);
    const poller = new Poller(() => client.get(query), handle);
    await ready.promise;
    return {
      send: (text) => post('4' + flavour.wrap(text)),
      close: () => {
        poller.stop();
        client.close();
      },
    };
  };
}

// ── SockJS ────────────────────────────────────────────────────────────────────────────────

/** Handles one SockJS frame (`o`, `h`, `a[…]`, `c[…]`). */
function sockjsFrame(frame: string, onMessage: OnMessage, onOpen: () => void): void {
  if (frame.startsWith('o')) onOpen();
  else if (frame.startsWith('a')) for (const text of JSON.parse(frame.slice(1)) as string[]) onMessage(text);
}

function sockjsPath(): string {
  return `/echo/${Math.floor(Math.random() * 1000)}/${randomBytes(8).toString('hex')}`;
}

const sockjsWs: Connector = async (port, onMessage, from) => {
  const ready = gate();
  const ws = await openWs(
    `ws://127.0.0.1:${port}${sockjsPath()}/websocket`,
    (text) => sockjsFrame(text, onMessage, ready.open),
    from,
  );
  await ready.promise;
  return { send: (text) => ws.send(JSON.stringify([text])), close: () => ws.terminate() };
};

const sockjsXhr: Connector = async (port, onMessage, from) => {
  const client = http(port, from);
  const path = sockjsPath();
  const ready = gate();
  const handle = (body: string) => {
    for (const frame of body.split('\n')) if (frame !== '') sockjsFrame(frame, onMessage, ready.open);
  };
  handle((await client.pollPost(`${path}/xhr`)).body);
  await ready.promise;
  const poller = new Poller(() => client.pollPost(`${path}/xhr`), handle);
  return {
    send: (text) => client.post(`${path}/xhr_send`, JSON.stringify([text]), 'text/plain').then(isOk, noteFailure),
    close: () => {
      poller.stop();
      client.close();
    },
  };
};

// ── sac-sock ──────────────────────────────────────────────────────────────────────────────

/** The event every bench message travels as; its server frames carry a string (type `S`). */
const SAC_SOCK_EVENT = 'message';
const SAC_SOCK_OUT = SAC_SOCK_EVENT + '\x02';
const SAC_SOCK_IN = SAC_SOCK_EVENT + '\x01S\x02';

const sacSock: Connector = async (port, onMessage, from) => {
  const ws = await openWs(
    `ws://127.0.0.1:${port}/socket`,
    (text) => {
      if (text.startsWith(SAC_SOCK_IN)) onMessage(text.slice(SAC_SOCK_IN.length));
      else noteFailure(new Error(`unexpected sac-sock frame ${JSON.stringify(text.slice(0, 40))}`));
    },
    from,
    'sac-sock',
  );
  if (ws.protocol !== 'sac-sock') throw new Error(`the server chose subprotocol "${ws.protocol}", not sac-sock`);
  return { send: (text) => ws.send(SAC_SOCK_OUT + text), close: () => ws.terminate() };
};

// ── raw ───────────────────────────────────────────────────────────────────────────────────

/** Plain text frames on `path`: raw `ws` listens on every path, Switchyard's endpoint on /plain. */
function rawAt(path: string): Connector {
  return async (port, onMessage, from) => {
    const ws = await openWs(`ws://127.0.0.1:${port}${path}`, (text) => onMessage(text), from);
    return { send: (text) => ws.send(text), close: () => ws.terminate() };
  };
}

/**
 * The HTTP limit in the polling sessions' own shape: a round trip is two requests, a POST
 * on the send connection (answered with its body: the echo) and a GET on the poll
 * connection (answered empty), so its round trips/s are node:http's requests/s ÷ 2.
 */
const plainHttp: Connector = async (port, onMessage, from) => {
  const client = http(port, from);
  return {
    send: (text) => {
      void client
        .post('/echo', text, 'text/plain')
        .then((answer) => onMessage(answer.body))
        .catch(noteFailure);
      return client.get('/poll').then(isOk, noteFailure);
    },
    close: () => client.close(),
  };
};

export const CONNECTORS: Record<ProtocolName, Connector> = {
  raw: rawAt('/'),
  'sio06-ws': sio06Ws,
  'sio06-hixie': sio06Hixie,
  'sio06-xhr': sio06Xhr,
  'eio-ws': eioWs(ENGINE),
  'eio-poll': eioPoll(ENGINE),
  'sio4-ws': eioWs(SOCKET_IO),
  'sio4-poll': eioPoll(SOCKET_IO),
  'sockjs-ws': sockjsWs,
  'sockjs-xhr': sockjsXhr,
  http: plainHttp,
  'sac-sock': sacSock,
  plain: rawAt('/plain'),
};
