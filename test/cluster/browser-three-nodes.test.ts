/**
 * The real 0.6.18 client in Chromium through HAProxy in front of THREE nodes balancing every
 * request round-robin without stickiness: with cluster sessions (redisCluster) every poll,
 * POST, stream and upgrade of a session may land on any node, and all five browser-runnable
 * transports pass.
 */
import { describeClusterTransportInBrowser, useClusterAndBrowser } from '../helpers/cluster-browser-suite.js';

const TRANSPORTS = ['websocket', 'htmlfile', 'xhr-multipart', 'xhr-polling', 'jsonp-polling'] as const;

const context = useClusterAndBrowser({ nodes: 3 });

for (const transport of TRANSPORTS) describeClusterTransportInBrowser(transport, context);
