/**
 * Who is on the other end of a request. Behind a balancer the socket's peer is the proxy:
 * with `trustProxy` listing the proxies' addresses or CIDRs, `X-Forwarded-For` and
 * `X-Forwarded-Proto` give the client's address and scheme — but only when the request
 * came from one of them, never on an arbitrary client's word. Off by default.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { RealtimeError } from '../errors.js';

export class ClientAddresses {
  private readonly trusted: BlockList | null;

  /** `trustProxy`: addresses (`10.0.0.1`, `::1`) and CIDRs (`10.0.0.0/8`, `fd00::/8`). */
  constructor(trustProxy: readonly string[]) {
    this.trusted = trustProxy.length === 0 ? null : blockListOf(trustProxy);
  }

  /** The client's address: the peer's, or the nearest untrusted hop of X-Forwarded-For. */
  addressOf(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? '';
    if (!this.isTrusted(peer)) return peer;
    const forwarded = headerOf(req, 'x-forwarded-for');
    if (forwarded === undefined) return peer;
    const hops = forwarded
      .split(',')
      .map((hop) => hop.trim())
      .filter((hop) => hop !== '');
    // Right to left: each hop was appended by the proxy before it; stop at the first we don't trust.
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      if (isIP(hop) === 0) return peer;
      if (!this.isTrusted(hop)) return hop;
    }
    return hops[0] ?? peer;
  }

  /** Whether the client reached us over TLS: our own, or a trusted proxy's (`X-Forwarded-Proto`). */
  isSecure(req: IncomingMessage): boolean {
    if ((req.socket as Partial<TLSSocket>).encrypted === true) return true;
    if (!this.isTrusted(req.socket.remoteAddress ?? '')) return false;
    const proto = headerOf(req, 'x-forwarded-proto');
    return proto?.split(',', 1)[0]?.trim().toLowerCase() === 'https';
  }

  private isTrusted(address: string): boolean {
    if (this.trusted === null || address === '') return false;
    const family = isIP(address);
    if (family === 0) return false;
    return this.trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address);
    if (family === 0) throw new RealtimeError('ERR_INVALID_OPTION', `trustProxy: "${entry}" is not an address or CIDR`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const bits = Number(prefix);
    if (!Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) {
      throw new RealtimeError('ERR_INVALID_OPTION', `trustProxy: "${entry}" has a bad prefix length`);
    }
    list.addSubnet(address, bits, type);
  }
  return list;
}
