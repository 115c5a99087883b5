import http from 'node:http';
import { closeServer, forward, listenLocal } from './http-forward';

/**
 * A reverse proxy that serves one backend under a path (`/distlog/…` → the backend's `/…`),
 * as nginx's `location /distlog/ { proxy_pass http://backend/; }` or Traefik's StripPrefix
 * do: the path is taken off on the way in and named in `X-Forwarded-Prefix` (unless
 * `forwardedPrefix` is false); anything outside the path is the proxy's own HTML 404.
 * Answers are streamed (live tail's event stream passes through).
 */
export class PrefixProxy {
  private server: http.Server | undefined;

  constructor(
    private readonly target: string,
    readonly prefix: string,
    private readonly forwardedPrefix = true,
  ) {}

  async start(): Promise<string> {
    const target = new URL(this.target);
    this.server = http.createServer((req, res) => {
      const url = req.url ?? '/';
      if (!url.startsWith(`${this.prefix}/`)) {
        res.writeHead(404, { 'Content-Type': 'text/html' }).end('<html><body>404 Not Found</body></html>');
        return;
      }
      const headers = {
        ...req.headers,
        ...(this.forwardedPrefix ? { 'x-forwarded-prefix': this.prefix } : {}),
      };
      forward(target, req, res, url.slice(this.prefix.length), headers);
    });
    return listenLocal(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }
}
