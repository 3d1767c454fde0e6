/**
 * A lean keep-alive HTTP client for the polling protocols: one agent per generator
 * process, no redirects, no parsing beyond collecting the body as text.
 */
import { Agent, request } from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

const REQUEST_TIMEOUT_MS = 60_000;

export class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 10_000 });

  constructor(private readonly port: number) {}

  get(path: string): Promise<HttpAnswer> {
    return this.send('GET', path, undefined, undefined);
  }

  post(path: string, body: string, contentType: string): Promise<HttpAnswer> {
    return this.send('POST', path, body, contentType);
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string, body: string | undefined, contentType: string | undefined) {
    return new Promise<HttpAnswer>((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (body !== undefined) {
        headers['Content-Type'] = contentType ?? 'text/plain';
        headers['Content-Length'] = Buffer.byteLength(body);
      }
      const req = request(
        { host: '127.0.0.1', port: this.port, method, path, headers, agent: this.agent, timeout: REQUEST_TIMEOUT_MS },
        (res) => {
          res.setEncoding('utf8');
          let text = '';
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}
