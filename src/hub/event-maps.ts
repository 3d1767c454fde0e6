/**
 * Typed event maps, in the manner of socket.io 4's `Server<ListenEvents, EmitEvents>`: an
 * application names the events its clients send and the events it sends them, and the
 * compiler checks every `onEvent`, `emit`, `roomcast`, `socketcast` and `broadcastEvent`
 * against them. Types only: what is decoded on the wire does not change.
 *
 * ```ts
 * interface ClientEvents { chat: string; join: string; message: { text: string } }
 * interface ServerEvents { chat: { nick: string; text: string }; message: string }
 * const server = createServer<ClientEvents, ServerEvents>();
 * server.onEvent('chat', (socket, data) => server.to('lobby').emit('chat', { nick: 'a', text: data.toString() }));
 * ```
 *
 * A map is `event name → data`. In `ListenEvents` the data types say what the client sends;
 * an event handler still gets the payload bytes (`Buffer`) the protocol carries, so the map
 * checks the names there, while the `message` key types what `onMessage` hands over (a 0.6
 * client's decoded message). In `EmitEvents` the data types check what is sent, and the
 * `message` key types plain messages (`broadcast`, `to(room).send`), which sac-sock clients
 * get as the event `message`.
 */

/** Event name → the type of its data (an interface fits). */
export interface EventsMap {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- `any` values let interfaces satisfy the index signature
  [event: string]: any;
}

/** The maps of a server that names none: any event, any data. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the untyped default, as socket.io's DefaultEventsMap
export type DefaultEventsMap = Record<string, any>;

/** The event names of a map. */
export type EventNames<Map extends EventsMap> = keyof Map & string;

/** The data of `event` in `Map`. */
export type EventData<Map extends EventsMap, Event extends EventNames<Map>> = Map[Event];

/** A plain message's type: the map's `message` entry; `unknown` for an untyped map or one without it. */
export type MessageOf<Map extends EventsMap> = string extends keyof Map
  ? unknown
  : 'message' extends keyof Map
    ? Map['message']
    : unknown;
