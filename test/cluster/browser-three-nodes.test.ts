/**
 * The real 0.6.18 client in Chromium through HAProxy in front of THREE nodes balancing every
 * request round-robin without stickiness. Today websocket passes (one upgrade, one node per
 * session) and the other transports do not (a poll or POST lands on a node that does not
 * know the session: 404, docs/cluster.md); the cluster session store adds them to TRANSPORTS.
 */
import { describeClusterTransportInBrowser, useClusterAndBrowser } from '../helpers/cluster-browser-suite.js';

const TRANSPORTS = ['websocket'] as const;

const context = useClusterAndBrowser({ nodes: 3 });

for (const transport of TRANSPORTS) describeClusterTransportInBrowser(transport, context);
