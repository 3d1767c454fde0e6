import type { RealtimeError } from '../errors.js';

/** A decoded message as the session layer sees it, whatever codec carried it. */
export type InboundMessage =
  | { readonly type: 'text'; readonly data: string }
  | { readonly type: 'json'; readonly data: unknown }
  | { readonly type: 'json-invalid'; readonly data: string }
  | { readonly type: 'heartbeat'; readonly data: string }
  | { readonly type: 'handshake'; readonly data: string }
  | { readonly type: 'disconnect'; readonly data: string };

export type DecodeResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: RealtimeError };

/**
 * Decodes the payloads of one connection. The SIO decoder is stateless (one payload at a
 * time); the streaming decoder keeps a partial frame between pushes.
 */
export interface PayloadDecoder {
  /** True when it keeps nothing between pushes, so one instance can serve every session. */
  readonly isStateless?: boolean;
  push(input: string): DecodeResult<InboundMessage[]>;
}

export interface DecoderOptions {
  /** Longest frame, in the codec's length unit. */
  readonly maxFrameLength: number;
  /** Deepest nesting of a JSON message's arrays and objects; 0 = no bound. Default 64. */
  readonly maxJsonDepth?: number;
}

/** What a session needs from a codec. Every encoder returns one complete frame. */
export interface Codec {
  readonly name: CodecName;
  encodeText(text: string): string;
  encodeJson(json: string): string;
  encodeHeartbeat(counter: number): string;
  encodeHandshake(sessionId: string): string;
  /** The codec's goodbye, where it has one (the streaming codec's `0:0:,`; SIO has none). */
  encodeDisconnect?(): string;
  createDecoder(options: DecoderOptions): PayloadDecoder;
}

export type CodecName = 'sio' | 'sio-streaming';
