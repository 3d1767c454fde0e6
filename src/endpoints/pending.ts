import type { IncomingMessage } from 'node:http';

/**
 * What the accept hook sees before the upgrade (seehuhn's half-built `Conn` in `AccessOk`):
 * the resource URL, the origin, the peer address and the request itself.
 */
export interface PendingConnection {
  /** `ws://` or `wss://` + Host + path and query (seehuhn's `ResourceName`). */
  readonly resource: URL;
  /** The parsed Origin header, or null when the request had none. */
  readonly origin: URL | null;
  /** `address:port` of the peer (`[v6]:port` for IPv6). */
  readonly remoteAddress: string;
  readonly request: IncomingMessage;
}

/** `address:port`, as seehuhn's `RemoteAddr` (brackets around IPv6 addresses). */
export function formatRemoteAddress(address: string | undefined, port: number | undefined): string {
  const host = address === undefined ? 'unknown' : address.includes(':') ? `[${address}]` : address;
  return `${host}:${port ?? 0}`;
}
