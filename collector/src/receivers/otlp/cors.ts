import type http from 'node:http';
import { log } from '../../helpers/log';
import { globsToRegExp } from '../../config/rules-config';

/**
 * `receivers.http.cors`: the web pages (origins) whose scripts may send OTLP/HTTP here — a
 * browser app's own OpenTelemetry exporters, so that its logs and spans join the requests
 * they started on the servers. Without it a browser's preflight is refused, and said.
 */
export interface CorsConfig {
  /** Origins as globs: `https://app.example.com`, `https://*.example.com`, `http://localhost:*`, `*`. */
  allowedOrigins: string[];
  /** Request headers allowed besides Content-Type, Content-Encoding and Authorization. */
  allowedHeaders?: string[];
  /** How long a browser may keep a preflight's answer (ms, as the configuration's durations; default 2 h). */
  maxAge?: number;
}

/** Headers every OTLP/HTTP exporter may send: the body's type and encoding, an ingest key. */
const BASE_HEADERS = ['content-type', 'content-encoding', 'authorization'];
/** A refused origin is said once an hour. */
const SAY_EVERY_MS = 3_600_000;

export class CorsPolicy {
  private readonly origins: RegExp | undefined;
  private readonly headers: Set<string>;
  private readonly maxAge: string;
  private readonly said = new Map<string, number>();

  constructor(config: CorsConfig | undefined) {
    this.origins = config ? globsToRegExp(config.allowedOrigins) : undefined;
    this.headers = new Set([...BASE_HEADERS, ...(config?.allowedHeaders ?? []).map((h) => h.toLowerCase())]);
    this.maxAge = String(Math.round((config?.maxAge ?? 7_200_000) / 1000));
  }

  /**
   * For a request to an OTLP path: answers a preflight (OPTIONS) and returns true, or adds
   * the headers that let an allowed page read the answer and returns false (go on).
   */
  handle(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return false;
    const allowed = this.origins?.test(origin) === true;
    if (allowed) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    }
    if (req.method !== 'OPTIONS') return false;
    if (!allowed) {
      this.sayRefused(origin, pathname);
      res.statusCode = 403;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(
        `pages from ${origin} may not send to ${pathname}: add the origin to receivers.http.cors.allowedOrigins\n`,
      );
      return true;
    }
    const asked = String(req.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
    const refused = asked.filter((h) => !this.headers.has(h));
    if (refused.length > 0) {
      this.sayRefused(origin, pathname, refused);
      res.statusCode = 403;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(
        `headers ${refused.join(', ')} are not allowed: add them to receivers.http.cors.allowedHeaders\n`,
      );
      return true;
    }
    res.statusCode = 204;
    res.setHeader('Access-Control-Allow-Methods', 'POST');
    if (asked.length > 0) res.setHeader('Access-Control-Allow-Headers', asked.join(', '));
    res.setHeader('Access-Control-Max-Age', this.maxAge);
    res.end();
    return true;
  }

  /** The browser only says "CORS error" in the page's console: the collector's log says why. */
  private sayRefused(origin: string, pathname: string, headers?: string[]): void {
    const key = `${origin}\u0000${headers?.join(',') ?? ''}`;
    const last = this.said.get(key);
    if (last !== undefined && Date.now() - last < SAY_EVERY_MS) return;
    if (this.said.size > 1000) this.said.clear();
    this.said.set(key, Date.now());
    log(
      'warn',
      headers
        ? `a web page asked to send OTLP with headers not allowed: add them to receivers.http.cors.allowedHeaders`
        : this.origins
          ? `a web page from an origin not allowed tried to send OTLP: add it to receivers.http.cors.allowedOrigins`
          : `a web page tried to send OTLP, but no origin may (receivers.http.cors.allowedOrigins is not set)`,
      { origin, path: pathname, ...(headers ? { headers } : {}) },
    );
  }
}
