/**
 * The real 0.6.18 client in Chromium through HAProxy in front of ONE node: all five
 * browser-runnable transports pass behind the balancer (page, client and session requests
 * all through it). One cluster and one browser for the file.
 */
import { describeClusterTransportInBrowser, useClusterAndBrowser } from '../helpers/cluster-browser-suite.js';

const context = useClusterAndBrowser({ nodes: 1 });

for (const transport of ['websocket', 'htmlfile', 'xhr-multipart', 'xhr-polling', 'jsonp-polling'] as const) {
  describeClusterTransportInBrowser(transport, context);
}
