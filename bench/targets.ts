/**
 * The targets: one small server file per target under bench/servers/, and the protocols its
 * load generators speak. To add a target (another Switchyard endpoint, say), add its server
 * file and one row here; `ws` makes it run in the websocket scenarios (A, C, D, E) and `poll`
 * in the long-polling ones (B, D); `inScale` adds it to G, the cost curve to the limits. A target without a protocol for a scenario is reported
 * as "n/a" with its `notes` entry.
 */
import type { ProtocolName } from './load/protocols.js';

export interface Target {
  readonly name: string;
  /** Column label: what is measured. */
  readonly label: string;
  /** File under bench/servers/. */
  readonly server: string;
  readonly ws?: ProtocolName;
  readonly poll?: ProtocolName;
  /** Its server runs the compiled build: the orchestrator runs `tsc -p tsconfig.build.json` first. */
  readonly needsBuild?: boolean;
  /** A physical limit (raw ws, raw http), not a peer: excluded from "best peer". */
  readonly isLimit?: boolean;
  /**
   * Another Switchyard endpoint (sac-sock, plain): its ratios are to the base row like every
   * other row's, but it is not a peer, and the goals ("Targets") stay about the base row.
   */
  readonly isSwitchyard?: boolean;
  /** Why a scenario does not apply. */
  readonly notes?: { readonly ws?: string; readonly poll?: string; readonly idlePoll?: string };
  /** Measured in G, the cost curve to the machine's limits (Switchyard, socket.io 4, the limits). */
  readonly inScale?: boolean;
  /** false: its polling protocol keeps no session between requests, so D's polling row is n/a. */
  readonly hasPollSessions?: boolean;
}

/** The ratio base of every column. */
export const BASE_TARGET = 'switchyard';

export const TARGETS: readonly Target[] = [
  {
    name: 'switchyard',
    label: 'Switchyard (legacy websocket / xhr-polling)',
    server: 'switchyard.ts',
    needsBuild: true,
    ws: 'sio06-ws',
    poll: 'sio06-xhr',
    isSwitchyard: true,
    inScale: true,
  },
  {
    name: 'switchyard-metrics',
    label: 'Switchyard with metrics on (legacy websocket / xhr-polling)',
    server: 'switchyard-metrics.ts',
    needsBuild: true,
    ws: 'sio06-ws',
    poll: 'sio06-xhr',
    isSwitchyard: true,
  },
  {
    name: 'switchyard-sacsock',
    label: 'Switchyard sac-sock',
    server: 'switchyard-sacsock.ts',
    needsBuild: true,
    ws: 'sac-sock',
    isSwitchyard: true,
    notes: { poll: 'websocket only' },
  },
  {
    name: 'switchyard-plain',
    label: 'Switchyard plain endpoint (text mode, async iterator)',
    server: 'switchyard-plain.ts',
    needsBuild: true,
    ws: 'plain',
    isSwitchyard: true,
    notes: { poll: 'websocket only' },
  },
  {
    name: 'switchyard-plain-fast',
    label: 'Switchyard plain endpoint (text mode, onMessage)',
    server: 'switchyard-plain-fast.ts',
    needsBuild: true,
    ws: 'plain',
    isSwitchyard: true,
    notes: { poll: 'websocket only' },
  },
  {
    name: 'raw-ws',
    label: 'raw ws 8 (limit)',
    server: 'raw-ws.ts',
    ws: 'raw',
    isLimit: true,
    inScale: true,
    notes: { poll: 'no polling transport' },
  },
  {
    name: 'raw-http',
    label: 'raw node:http (limit)',
    server: 'raw-http.ts',
    poll: 'http',
    isLimit: true,
    inScale: true,
    hasPollSessions: false,
    notes: { ws: 'no websocket', idlePoll: 'no sessions: each request stands alone' },
  },
  {
    name: 'socketio4',
    label: 'socket.io 4',
    server: 'socketio4.ts',
    ws: 'sio4-ws',
    poll: 'sio4-poll',
    inScale: true,
  },
  { name: 'engineio6', label: 'engine.io 6', server: 'engineio6.ts', ws: 'eio-ws', poll: 'eio-poll' },
  { name: 'sockjs', label: 'sockjs 0.3.24', server: 'sockjs.ts', ws: 'sockjs-ws', poll: 'sockjs-xhr' },
  {
    name: 'socketio06',
    label: 'socket.io 0.6.18 (hixie-75 websocket)',
    server: 'socketio06.ts',
    ws: 'sio06-hixie',
    poll: 'sio06-xhr',
  },
];
