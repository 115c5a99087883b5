import http from 'node:http';
import { closeServer, forward, listenLocal } from './http-forward';

/**
 * An HTTP proxy in front of ClickHouse that counts the requests (queries and inserts)
 * passing through it: put between a query server and ClickHouse, it tells how many
 * queries the query server made.
 */
export class CountingProxy {
  requests = 0;
  private server: http.Server | undefined;

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      this.requests++;
      forward(target, req, res);
    });
    return listenLocal(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}
