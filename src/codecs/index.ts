export * from './types.js';
export * as sio from './sio.js';
export * as streaming from './streaming.js';
import { sioCodec } from './sio.js';
import { streamingCodec } from './streaming.js';
import type { Codec, CodecName } from './types.js';

export const CODECS: Readonly<Record<CodecName, Codec>> = { sio: sioCodec, 'sio-streaming': streamingCodec };
export * as sacSock from './sac-sock.js';
