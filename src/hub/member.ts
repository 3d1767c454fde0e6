import type { SendResult } from '../hub/results.js';
import type { PreparedMessage } from './prepared.js';

/**
 * Anything fan-out can reach: a 0.6 session (`Conn`), a sac-sock socket, a plain websocket
 * connection. `id` is unique within one server instance; `deliver` encodes the prepared
 * message in the member's own wire format (through `message.encoded(format, …)`, so the
 * encoding is shared by every member of that format) and applies the member's own
 * queue policy. It never throws.
 */
export interface Member {
  readonly id: string;
  deliver(message: PreparedMessage): SendResult;
  /**
   * Optional: told the member's named rooms whenever they change (a session whose rooms must
   * outlive its node keeps them in its record).
   */
  roomsChanged?(rooms: ReadonlySet<string>): void;
  /**
   * Optional: true for a session kept in a cluster's store, which another node takes over
   * when this one dies (its rooms travel with its record); members without it go with their node.
   */
  readonly outlivesNode?: boolean;
}
