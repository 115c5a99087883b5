import * as grpc from '@grpc/grpc-js';
import { logsServiceDefinition, traceServiceDefinition } from '@distlog/proto';
import type { Consumer } from '../../pipeline/pipeline';
import type { Component } from '../../pipeline/component';
import type { CollectorMetrics } from '../../telemetry/metrics';
import { ERROR_KINDS } from '../../errors';
import { encodeExportResponseProtobuf } from './responses';
import type { TlsConfig } from '../../auth/auth-config';
import type { IngestOptions, Refusal, Signal } from './ingest';
import { Ingest } from './ingest';
import type { Http2Session } from 'node:http2';
import { log } from '../../helpers/log';

export interface GrpcReceiverOptions extends IngestOptions {
  host: string;
  /** 0: any free port (see `port` after start()). */
  port: number;
  tls?: TlsConfig;
}

/** `ipv4:1.2.3.4:5678`, `ipv6:[::1]:5678` (grpc-js peer strings) → the address alone. */
export function peerAddress(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(bare);
  if (bracketed) return bracketed[1];
  const m = /^([^:]+):\d+$/.exec(bare);
  return m ? m[1] : bare;
}

/** gRPC credentials for a listener: TLS from the configured files, else plain text. */
export function serverCredentials(tls: TlsConfig | undefined): grpc.ServerCredentials {
  return tls
    ? grpc.ServerCredentials.createSsl(
        tls.clientCa ?? null,
        [{ cert_chain: tls.cert, private_key: tls.key }],
        tls.clientCa !== undefined,
      )
    : grpc.ServerCredentials.createInsecure();
}

/** OTLP/gRPC receiver: LogsService/Export and TraceService/Export, plus other services on the same port. */
export class OtlpGrpcReceiver implements Component {
  private server: grpc.Server | undefined;
  private readonly ingest: Ingest;
  /** The port it listens on, once started. */
  port = 0;
  private readonly extraServices: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]> = [];

  /** Other services served on the same port (level control); before start(). */
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.extraServices.push([definition, implementation]);
  }

  constructor(
    private readonly options: GrpcReceiverOptions,
    consumer: Consumer,
    metrics?: CollectorMetrics,
  ) {
    this.ingest = new Ingest(options, consumer, metrics);
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.options.limits.maxDecompressedBytes,
      // Per-call bookkeeping for gRPC's channelz introspection service, which nothing here
      // serves: ~1 % of the collector's main thread under load.
      'grpc.enable_channelz': 0,
    });
    const widened = widenFlowControl(server);
    // The request arrives in a holder that is emptied when the handler takes the body:
    // @grpc/grpc-js keeps the request message until the call ends, and a body kept until its
    // records are stored dies old (see Ingest.accept).
    // LogsService, and TraceService: spans taken as scope records (decode-traces.ts).
    for (const [definition, signal] of [
      [logsServiceDefinition(), 'logs'],
      [traceServiceDefinition(), 'traces'],
    ] as const) {
      const held = {
        Export: { ...definition.Export, requestDeserialize: (body: Buffer): HeldBody => ({ body }) },
      };
      server.addService(held, {
        Export: (call: grpc.ServerUnaryCall<HeldBody, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          const body = call.request.body;
          call.request.body = undefined;
          if (body) this.export(body, call.metadata, callback, peerAddress(call.getPeer()), signal);
          else callback({ code: grpc.status.INTERNAL, details: 'the request was handled already' });
        },
      });
    }
    for (const [definition, implementation] of this.extraServices)
      server.addService(definition, implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${this.options.host}:${this.options.port}`,
        serverCredentials(this.options.tls),
        (err, p) => (err ? reject(err) : resolve(p)),
      ),
    );
    widened.afterBind();
    this.server = server;
    this.port = port;
  }

  async shutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => server.forceShutdown(), 5_000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Not async, like Ingest.accept: the body is not held while its records are stored. */
  private export(
    request: Buffer,
    metadata: grpc.Metadata,
    callback: grpc.sendUnaryData<Buffer>,
    address: string,
    signal: Signal,
  ): void {
    const refuse = (r: Refusal) => callback({ code: ERROR_KINDS[r.kind].grpc, details: r.message });
    // Credentials first: an unknown sender's bytes are not even decoded.
    const admission = this.ingest.admit('grpc', metadataString(metadata, 'authorization'), address);
    if (!admission.ok) return refuse(admission);
    void this.ingest.accept('grpc', request, 'protobuf', admission.sender, signal).then((outcome) =>
      // OTLP: UNAVAILABLE is retryable; RetryInfo is optional, the client backs off on its own.
      outcome.ok ? callback(null, encodeExportResponseProtobuf(outcome.partial)) : refuse(outcome),
    );
  }
}

/** HTTP/2 flow-control windows the receiver grants each stream and each connection. */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
export const CONNECTION_WINDOW_BYTES = 32 * 1024 * 1024;

/**
 * Wider HTTP/2 flow-control windows than the protocol's 64 KiB. An OTLP request is often
 * larger (512 records are ~170 KB), and a client sending several at once on one connection
 * shares one connection window: with 64 KiB, every request is split by WINDOW_UPDATE round
 * trips, each a turn of both event loops. Measured on this receiver with 170 KB requests,
 * 8 per connection: the server's CPU for gRPC itself 0.91 → 0.68 µs per record, the
 * client's less too. Memory is not what the window bounds here: the receiver reads every
 * stream at once, and message size is limited by maxDecompressedBytes.
 *
 * @grpc/grpc-js has no option for either window, so this sets them through two of its
 * private fields (checked with @grpc/grpc-js 1.14): the HTTP/2 settings it creates its
 * listeners with (the stream window), and its listeners (the connection window of each new
 * session). Where a later version lacks them, the receiver works as before, with the
 * default windows, and says so once (grpc-receiver.test.ts checks the windows a client sees).
 */
function widenFlowControl(server: grpc.Server): { afterBind: () => void } {
  const internals = server as unknown as {
    commonServerOptions?: { settings?: Record<string, unknown> };
    http2Servers?: Map<{ on: (event: 'session', f: (s: Http2Session) => void) => void }, unknown>;
  };
  const options = internals.commonServerOptions;
  const unsupported = () =>
    log(
      'warn',
      "cannot widen the gRPC receiver's HTTP/2 windows with this @grpc/grpc-js; large requests cost more CPU",
      {},
    );
  if (!options || typeof options !== 'object') {
    unsupported();
    return { afterBind: () => undefined };
  }
  options.settings = { ...options.settings, initialWindowSize: STREAM_WINDOW_BYTES };
  return {
    afterBind: () => {
      const listeners = internals.http2Servers;
      if (!(listeners instanceof Map) || listeners.size === 0) return unsupported();
      for (const listener of listeners.keys())
        listener.on('session', (session) => {
          if (!session.destroyed) session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
        });
    },
  };
}

/** A request body until the handler takes it. */
interface HeldBody {
  body: Buffer | undefined;
}

export function metadataString(metadata: grpc.Metadata, key: string): string | undefined {
  const [value] = metadata.get(key);
  return typeof value === 'string' ? value : value?.toString('utf8');
}
