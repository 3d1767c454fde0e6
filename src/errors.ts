/**
 * One error class for everything Switchyard reports, with a code from a closed set.
 * docs/errors.md lists every code; keep the two in step (test/unit/docs-tables.test.ts checks).
 */
export const ERROR_CODES = {
  ERR_MALFORMED_FRAME: { httpStatus: 400, closeCode: 1007 },
  ERR_JSON_TOO_DEEP: { httpStatus: 400, closeCode: 1009 },
  ERR_TOO_LARGE: { httpStatus: 413, closeCode: 1009 },
  ERR_BAD_REQUEST: { httpStatus: 400, closeCode: 1002 },
  ERR_INVALID_UTF8: { httpStatus: 400, closeCode: 1007 },
  ERR_UNKNOWN_TRANSPORT: { httpStatus: 404, closeCode: 1008 },
  ERR_NOT_FOUND: { httpStatus: 404, closeCode: 1008 },
  ERR_UNKNOWN_SESSION: { httpStatus: 404, closeCode: 1008 },
  ERR_SESSION_REQUIRED: { httpStatus: 400, closeCode: 1008 },
  ERR_METHOD_NOT_ALLOWED: { httpStatus: 405, closeCode: 1002 },
  ERR_ORIGIN_REFUSED: { httpStatus: 403, closeCode: 1008 },
  ERR_HOST_REFUSED: { httpStatus: 403, closeCode: 1008 },
  ERR_RATE_LIMITED: { httpStatus: 429, closeCode: 1013 },
  ERR_UNAUTHORIZED: { httpStatus: 401, closeCode: 1008 },
  ERR_SERVER_FULL: { httpStatus: 503, closeCode: 1013 },
  ERR_TOO_MANY_SESSIONS_FROM_ADDRESS: { httpStatus: 429, closeCode: 1013 },
  ERR_SHUTTING_DOWN: { httpStatus: 503, closeCode: 1001 },
  ERR_QUEUE_FULL: { httpStatus: 503, closeCode: 1013 },
  ERR_QUEUE_OVERFLOW: { httpStatus: 503, closeCode: 1013 },
  ERR_CLOSED: { httpStatus: 410, closeCode: 1000 },
  ERR_INVALID_MESSAGE: { httpStatus: 400, closeCode: 1003 },
  ERR_BAD_CALLBACK: { httpStatus: 400, closeCode: 1002 },
  ERR_HEARTBEAT_TIMEOUT: { httpStatus: 408, closeCode: 1001 },
  ERR_INVALID_OPTION: { httpStatus: 500, closeCode: 1011 },
  ERR_HANDLER_FAILED: { httpStatus: 500, closeCode: 1011 },
  // An optional peer dependency (ioredis for switchyard/redis) is not installed.
  ERR_MISSING_DEPENDENCY: { httpStatus: 500, closeCode: 1011 },
  // Plain websocket endpoints (src/endpoints/).
  ERR_UNSUPPORTED_VERSION: { httpStatus: 426, closeCode: 1002 },
  ERR_ACCESS_REFUSED: { httpStatus: 403, closeCode: 1008 },
  ERR_PROTOCOL_NOT_OFFERED: { httpStatus: 500, closeCode: 1011 },
  ERR_PROTOCOL_VIOLATION: { httpStatus: 400, closeCode: 1002 },
  ERR_STATUS_CODE: { httpStatus: 500, closeCode: 1011 },
  ERR_WRITE_TIMEOUT: { httpStatus: 408, closeCode: 1011 },
  ERR_CONNECTION_DROPPED: { httpStatus: 499, closeCode: 1006 },
  ERR_DELIVERY_FAILED: { httpStatus: 500, closeCode: 1011 },
  ERR_HEADERS_TOO_LARGE: { httpStatus: 431, closeCode: 1009 },
  ERR_REQUEST_TIMEOUT: { httpStatus: 408, closeCode: 1001 },
  // Several instances (src/adapters/redis/): the broker is unreachable or a publish failed.
  ERR_ADAPTER_UNAVAILABLE: { httpStatus: 503, closeCode: 1011 },
  // A Redis Cluster refused a command or script over keys of two hash slots (a key-layout bug).
  ERR_CROSS_SLOT: { httpStatus: 500, closeCode: 1011 },
  // `/readyz`: the server does not listen yet, or its cluster may count it dead (liveness late).
  ERR_NOT_READY: { httpStatus: 503, closeCode: 1013 },
  // A cluster-wide query (server.fetchMembers and friends) had no answer within redisCluster's queryTimeoutMs.
  ERR_QUERY_TIMEOUT: { httpStatus: 504, closeCode: 1011 },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Codes merged in 0.2 (one code per meaning), old → new. Kept for one minor version so that
 * code matching on an old name can migrate: `ERROR_CODE_ALIASES[code] ?? code`.
 * @deprecated removed in 0.3.
 */
export const ERROR_CODE_ALIASES: Readonly<Record<string, ErrorCode>> = Object.freeze({
  ERR_SESSION_CLOSED: 'ERR_CLOSED',
  ERR_CONN_CLOSED: 'ERR_CLOSED',
  ERR_FRAME_TOO_LARGE: 'ERR_TOO_LARGE',
  ERR_PAYLOAD_TOO_LARGE: 'ERR_TOO_LARGE',
  ERR_INVALID_JSON: 'ERR_MALFORMED_FRAME',
  ERR_MESSAGE_TYPE: 'ERR_INVALID_MESSAGE',
  ERR_IDLE_TIMEOUT: 'ERR_HEARTBEAT_TIMEOUT',
});

export class RealtimeError extends Error {
  override readonly name = 'RealtimeError';
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly closeCode: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; httpStatus?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.httpStatus = options?.httpStatus ?? ERROR_CODES[code].httpStatus;
    this.closeCode = ERROR_CODES[code].closeCode;
  }

  /** The JSON body sent at the HTTP edge. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}
