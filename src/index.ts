// RedisAdapter lives in `switchyard/redis` (src/redis.ts), so that this entry never loads ioredis.
export { createServer, switchyard, Switchyard } from './server.js';
export type { BroadcastReport, CreateServerOptions, ServerEvents, UpgradeRoute } from './server.js';
export type { AuthorizeHook, ServerOptions } from './options.js';
export { RealtimeError, ERROR_CODES, ERROR_CODE_ALIASES } from './errors.js';
export type { ErrorCode } from './errors.js';
export { Conn } from './session/conn.js';
export type { ConnState } from './session/conn.js';
export type { DisconnectInfo, DisconnectReason, QueueOverflowPolicy, SendResult } from './hub/results.js';
export { PreparedMessage } from './hub/prepared.js';
export { TRANSPORT_NAMES } from './session/transport.js';
export type { TransportName } from './session/transport.js';
export * as codecs from './codecs/index.js';
export { MemoryAdapter, PRIVATE_ROOM_PREFIX, privateRoom } from './hub/adapter.js';
export type { Adapter, FanOutReport, FanOutTarget } from './hub/adapter.js';
export { NO_INSTRUMENTS, combineInstruments } from './hub/instruments.js';
export type { Family, Instruments } from './hub/instruments.js';
export { channelNames, decodeEnvelope, encodeEnvelope, DEFAULT_SERVER_GROUP } from './adapters/redis/envelope.js';
export type { ChannelKind, Envelope, ForwardedMessage } from './adapters/redis/envelope.js';
export type { Member } from './hub/member.js';
export { Rooms, Target } from './hub/rooms.js';
export type { MemberRef, Socket, SocketProtocol } from './hub/rooms.js';
export { EventHub, payloadBytes } from './hub/events.js';
export type { EventHandler, SocketDisconnectListener, SocketListener } from './hub/events.js';
export type { DefaultEventsMap, EventData, EventNames, EventsMap, MessageOf } from './hub/event-maps.js';
export { LegacySocket } from './session/legacy-socket.js';
export { SacSocket, PLAIN_MESSAGE_EVENT } from './sacsock/socket.js';
export { SacSockEndpoint } from './sacsock/endpoint.js';
export { SUBPROTOCOL as SAC_SOCK_SUBPROTOCOL } from './codecs/sac-sock.js';
export { WebSocketEndpoint } from './endpoints/endpoint.js';
export type { ConnectionHandler } from './endpoints/endpoint.js';
export { WebSocketConnection, MAX_WAITING_SENDS } from './endpoints/connection.js';
export type {
  CloseInfo,
  CloseStatus,
  ConnectionState,
  MessageHandler,
  ReceivedMessage,
} from './endpoints/connection.js';
export {
  MessageTypeError,
  TooLargeError,
  StatusCodeError,
  Status,
  messageTypeName,
  isSendableCloseCode,
} from './endpoints/errors.js';
export type { MessageType } from './endpoints/errors.js';
export { ENDPOINT_DEFAULTS } from './endpoints/options.js';
export type {
  AcceptHook,
  AcceptResult,
  ChannelMode,
  InvalidMessagePolicy,
  WebSocketEndpointOptions,
} from './endpoints/options.js';
export type { AllowedOrigin } from './endpoints/origin-pattern.js';
export type { PendingConnection } from './endpoints/pending.js';
export type { WebSocketRouteOption } from './endpoints/fastify-route.js';
export { fastifyHttpOptions, installJsonFallbacks, HTTP_LIMIT_DEFAULTS } from './http/limits.js';
export type { HttpLimitOptions } from './http/limits.js';
