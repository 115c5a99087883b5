import http from 'node:http';
import https from 'node:https';
import { diag } from '@opentelemetry/api';
import { LevelRegistry } from './registry';
import { LevelRule } from './rules';

/** How to reach the collector: the OTLP exporter's headers (its ingest key) and CA. */
export interface ControlTransport {
  headers: Record<string, string>;
  /** PEM trusted instead of the system's authorities (as OTEL_EXPORTER_OTLP_CERTIFICATE does for the exporter). */
  ca?: Buffer;
  /** Client certificate and key (PEM) for a collector that requires them (mutual TLS). */
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Follows the collector's level rules for this process over HTTP (server-sent events
 * from GET /v1/levels/stream), reconnecting with backoff; reports the effective levels
 * back (POST /v1/levels/report). While the collector cannot be reached, the loggers
 * are at their local levels. Its sockets are unref'd: it never keeps a process alive.
 */
export class LevelSubscriber {
  private request: http.ClientRequest | undefined;
  private retryMs = 500;
  private stopped = false;
  private reportTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private refusalSaid = false;

  constructor(
    private readonly base: string,
    private readonly service: string,
    private readonly instance: string,
    private readonly registry: LevelRegistry,
    private readonly transport: ControlTransport = { headers: {} },
  ) {}

  private options(headers: Record<string, string>): https.RequestOptions {
    return {
      headers: { ...this.transport.headers, ...headers },
      ...(this.transport.ca ? { ca: this.transport.ca } : {}),
      ...(this.transport.cert && this.transport.key
        ? { cert: this.transport.cert, key: this.transport.key }
        : {}),
    };
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.request?.destroy();
    if (this.reportTimer) clearTimeout(this.reportTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
  }

  /** Sends the effective levels soon (debounced). */
  scheduleReport(): void {
    if (this.reportTimer || this.stopped) return;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = undefined;
      this.report();
    }, 200);
    this.reportTimer.unref();
  }

  private client(url: URL): typeof http {
    return (url.protocol === 'https:' ? https : http) as typeof http;
  }

  private connect(): void {
    if (this.stopped) return;
    const url = new URL('/v1/levels/stream', this.base);
    url.searchParams.set('service', this.service);
    url.searchParams.set('instance', this.instance);
    const req = this.client(url).get(url, this.options({ Accept: 'text/event-stream' }), (res) => {
      if (res.statusCode === 401 || res.statusCode === 403) {
        // Wrong or missing ingest key: said once (it will not fix itself), still retried.
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          if (!this.refusalSaid)
            diag.error(
              `distlog: the collector refused level control (HTTP ${res.statusCode}): ${text.trim()}`,
            );
          this.refusalSaid = true;
          this.disconnected(`HTTP ${res.statusCode}`);
        });
        return;
      }
      if (res.statusCode !== 200) {
        res.resume();
        return this.disconnected(`HTTP ${res.statusCode}`);
      }
      this.retryMs = 500;
      this.scheduleReport();
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
            this.registry.setRules((JSON.parse(data.slice(6)) as { rules: LevelRule[] }).rules);
            this.scheduleReport();
          } catch (err) {
            diag.warn('distlog: bad level rules event', err);
          }
        }
      });
      res.on('end', () => this.disconnected('stream ended'));
      res.on('error', () => this.disconnected('stream error'));
    });
    req.on('socket', (socket) => socket.unref());
    req.on('error', (err) => this.disconnected(err.message));
    this.request = req;
  }

  private disconnected(reason: string): void {
    if (this.stopped || this.reconnectTimer) return;
    diag.debug(
      `distlog: level control disconnected (${reason}); local levels in force, retrying in ${this.retryMs} ms`,
    );
    this.registry.setRules([]);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, this.retryMs);
    this.reconnectTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 10_000);
  }

  private report(): void {
    const url = new URL('/v1/levels/report', this.base);
    const body = JSON.stringify({
      service: this.service,
      instance: this.instance,
      loggers: this.registry.effectiveLevels(),
    });
    const req = this.client(url).request(
      url,
      { method: 'POST', ...this.options({ 'Content-Type': 'application/json' }) },
      (res) => res.resume(),
    );
    req.on('socket', (socket) => socket.unref());
    req.on('error', () => undefined);
    req.end(body);
  }
}
