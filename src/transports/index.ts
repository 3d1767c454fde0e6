/**
 * The one table from transport name to implementation. The 0.6 resource asks it which
 * module answers a request; each module holds only its own framing.
 */
import type { TransportName } from '../session/transport.js';
import { flashsocket } from './flashsocket.js';
import { htmlfile } from './htmlfile.js';
import { jsonpPolling } from './jsonp-polling.js';
import type { TransportModule } from './module.js';
import { websocket } from './websocket.js';
import { xhrMultipart } from './xhr-multipart.js';
import { xhrPolling } from './xhr-polling.js';

export const TRANSPORT_MODULES: Partial<Record<TransportName, TransportModule>> = {
  websocket,
  flashsocket,
  htmlfile,
  'xhr-multipart': xhrMultipart,
  'xhr-polling': xhrPolling,
  'jsonp-polling': jsonpPolling,
};
