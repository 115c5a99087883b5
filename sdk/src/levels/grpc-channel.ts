import http2 from 'node:http2';
import type { ControlChannel, ControlEvents, CloseKind } from './subscriber';
import type { ControlTransport } from './http-channel';
import type { EffectiveLevels } from '@distlog/proto';
import { decodeLevelRules, encodeLevelReport, encodeSubscribeRequest } from '@distlog/proto';

const SERVICE = '/distlog.v1.LevelControl';

// gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html) that say more than "try again".
const UNIMPLEMENTED = 12;
const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;
const INVALID_ARGUMENT = 3;

function kindOf(status: number): CloseKind {
  if (status === UNAUTHENTICATED || status === PERMISSION_DENIED) return 'refused';
  if (status === UNIMPLEMENTED || status === INVALID_ARGUMENT) return 'unsupported';
  return 'transient';
}

/** A gRPC message on the wire: no compression, 4-byte big-endian length, the bytes. */
function frame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/**
 * Level control over the collector's gRPC port — the address the app already exports
 * OTLP/gRPC to, so no second address is needed in any topology: a server-streaming
 * call to distlog.v1.LevelControl/Subscribe, and Report calls with the effective
 * levels. gRPC is spoken directly on node:http2 (two calls, no generated code), which
 * also lets the connection be unref'd: level control never keeps a process alive.
 * TLS (https endpoints), the CA, the client certificate and the headers are the OTLP
 * exporter's.
 */
export class GrpcControlChannel implements ControlChannel {
  readonly protocol = 'grpc';
  private session: http2.ClientHttp2Session | undefined;

  constructor(
    readonly endpoint: string,
    private readonly service: string,
    private readonly instance: string,
    private readonly transport: ControlTransport = { headers: {} },
  ) {}

  open(events: ControlEvents): () => void {
    let ended = false;
    const end = (reason: string, kind: CloseKind) => {
      if (ended) return;
      ended = true;
      events.closed(reason, kind);
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.call(
        'Subscribe',
        encodeSubscribeRequest({ service: this.service, instance: this.instance, loggers: [] }),
      );
    } catch (err) {
      end((err as Error).message, 'unsupported');
      return () => undefined;
    }
    let pending: Buffer = Buffer.alloc(0);
    const status = (headers: http2.IncomingHttpHeaders, trailersOnly: boolean) => {
      const code = headers['grpc-status'];
      if (code === undefined) return false;
      const message = decodeURIComponent(String(headers['grpc-message'] ?? ''));
      const n = Number(code);
      end(
        n === 0 ? 'stream ended' : `gRPC status ${n}${message ? `: ${message}` : ''}`,
        n === 0 ? 'transient' : kindOf(n),
      );
      return trailersOnly;
    };
    stream.on('response', (headers) => {
      const http = Number(headers[':status']);
      if (http !== 200)
        return end(`HTTP ${http} from a gRPC call`, http === 404 ? 'unsupported' : 'transient');
      if (status(headers, true)) return;
      if (!String(headers['content-type'] ?? '').startsWith('application/grpc'))
        return end(`not a gRPC server (content-type ${String(headers['content-type'])})`, 'unsupported');
      events.opened();
    });
    stream.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1);
        if (pending.length < 5 + length) break;
        const message = pending.subarray(5, 5 + length);
        pending = pending.subarray(5 + length);
        try {
          events.rules(decodeLevelRules(message));
        } catch (err) {
          end(`a damaged LevelRules message (${(err as Error).message})`, 'transient');
          stream.close();
          return;
        }
      }
    });
    stream.on('trailers', (trailers) => status(trailers, false));
    stream.on('error', (err) => end(err.message, 'transient'));
    stream.on('close', () => end('stream closed', 'transient'));
    return () => {
      ended = true;
      stream.close();
    };
  }

  report(levels: EffectiveLevels): void {
    try {
      const stream = this.call(
        'Report',
        encodeLevelReport({ service: this.service, instance: this.instance, loggers: levels }),
      );
      stream.on('error', () => undefined);
      stream.resume();
    } catch {
      // Best effort: the next change reports again.
    }
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  /** Starts a call with one request message; the connection is made (again) when needed. */
  private call(method: string, request: Buffer): http2.ClientHttp2Stream {
    const session = this.connect();
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.transport.headers)) metadata[k.toLowerCase()] = v;
    const stream = session.request({
      ...metadata,
      ':method': 'POST',
      ':path': `${SERVICE}/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.end(frame(request));
    return stream;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const url = new URL(this.endpoint.includes('://') ? this.endpoint : `http://${this.endpoint}`);
    const secure = url.protocol === 'https:';
    const session = http2.connect(`${secure ? 'https' : 'http'}://${url.host}`, {
      ...(secure && this.transport.ca ? { ca: this.transport.ca } : {}),
      ...(secure && this.transport.cert && this.transport.key
        ? { cert: this.transport.cert, key: this.transport.key }
        : {}),
    });
    session.on('error', () => undefined);
    session.unref();
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    this.session = session;
    return session;
  }
}
