import { createServer, type CreateServerOptions, type Switchyard } from '../../src/server.js';

export interface StartedServer {
  readonly server: Switchyard;
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** `ws://127.0.0.1:<port>` */
  readonly wsUrl: string;
  close(): Promise<void>;
}

/** A standalone server on an ephemeral loopback port. Close it in `afterEach`. */
export async function startServer(
  options: CreateServerOptions = {},
  setup?: (server: Switchyard) => void,
): Promise<StartedServer> {
  // No separate Flash policy listener unless a test asks for one (the default port is 843).
  const server = createServer({ flashPolicyPort: false, ...options });
  setup?.(server);
  const baseUrl = await server.listen({ port: 0, host: '127.0.0.1' });
  return {
    server,
    baseUrl,
    wsUrl: baseUrl.replace(/^http/, 'ws'),
    close: () => server.close(),
  };
}
