import http from 'node:http';
import https from 'node:https';
import { diag } from '@opentelemetry/api';
import type { ControlChannel, ControlEvents } from './subscriber';
import type { EffectiveLevels } from '@distlog/proto';
import type { LevelRule } from './rules';

/** How to reach the collector: the OTLP exporter's headers (its ingest key) and TLS files. */
export interface ControlTransport {
  headers: Record<string, string>;
  /** PEM trusted instead of the system's authorities (as OTEL_EXPORTER_OTLP_CERTIFICATE does for the exporter). */
  ca?: Buffer;
  /** Client certificate and key (PEM) for a collector that requires them (mutual TLS). */
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Level control over the collector's HTTP port, beside OTLP/HTTP: server-sent events
 * from GET {base}/v1/levels/stream, reports to POST {base}/v1/levels/report. `base` is
 * the OTLP/HTTP endpoint without `/v1/logs` (a path prefix behind a proxy is kept).
 */
export class HttpControlChannel implements ControlChannel {
  readonly protocol = 'http';
  private readonly base: string;

  constructor(
    base: string,
    private readonly service: string,
    private readonly instance: string,
    private readonly transport: ControlTransport = { headers: {} },
  ) {
    this.base = base.replace(/\/+$/, '');
  }

  get endpoint(): string {
    return this.base;
  }

  open(events: ControlEvents): () => void {
    let url: URL;
    try {
      url = new URL(`${this.base}/v1/levels/stream`);
    } catch {
      events.closed(`not a URL: ${JSON.stringify(this.base)}`, 'unsupported');
      return () => undefined;
    }
    url.searchParams.set('service', this.service);
    url.searchParams.set('instance', this.instance);
    let req: http.ClientRequest;
    try {
      req = this.client(url).get(url, this.options({ Accept: 'text/event-stream' }), (res) => {
        if (res.statusCode !== 200) {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c.length < 500 ? c : ''));
          res.on('end', () => {
            const status = `HTTP ${res.statusCode}${text.trim() ? `: ${text.trim().slice(0, 200)}` : ''}`;
            const kind =
              res.statusCode === 401 || res.statusCode === 403
                ? 'refused'
                : res.statusCode === 404 || res.statusCode === 405
                  ? 'unsupported'
                  : 'transient';
            events.closed(status, kind);
          });
          res.on('error', () => events.closed(`HTTP ${res.statusCode}`, 'transient'));
          return;
        }
        events.opened();
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = event.split('\n').find((l) => l.startsWith('data: '));
            if (!data || !event.startsWith('event: rules')) continue;
            try {
              events.rules((JSON.parse(data.slice(6)) as { rules: LevelRule[] }).rules);
            } catch (err) {
              diag.warn('distlog: bad level rules event', err);
            }
          }
        });
        res.on('end', () => events.closed('stream ended', 'transient'));
        res.on('error', (err) => events.closed(err.message, 'transient'));
      });
    } catch (err) {
      events.closed((err as Error).message, 'unsupported');
      return () => undefined;
    }
    req.on('socket', (socket) => socket.unref());
    req.on('error', (err) => events.closed(err.message, 'transient'));
    return () => req.destroy();
  }

  report(levels: EffectiveLevels): void {
    const url = new URL(`${this.base}/v1/levels/report`);
    const body = JSON.stringify({ service: this.service, instance: this.instance, loggers: levels });
    const req = this.client(url).request(
      url,
      { method: 'POST', ...this.options({ 'Content-Type': 'application/json' }) },
      (res) => res.resume(),
    );
    req.on('socket', (socket) => socket.unref());
    req.on('error', () => undefined);
    req.end(body);
  }

  close(): void {
    // Each request has its own connection; open() returns what ends the stream.
  }

  private client(url: URL): typeof http {
    return (url.protocol === 'https:' ? https : http) as typeof http;
  }

  private options(headers: Record<string, string>): https.RequestOptions {
    return {
      headers: { ...this.transport.headers, ...headers },
      ...(this.transport.ca ? { ca: this.transport.ca } : {}),
      ...(this.transport.cert && this.transport.key
        ? { cert: this.transport.cert, key: this.transport.key }
        : {}),
    };
  }
}
