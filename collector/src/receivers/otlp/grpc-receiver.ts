import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Consumer } from '../../pipeline/pipeline';
import { log } from '../../helpers/log';
import type { CollectorMetrics } from '../../telemetry/metrics';
import { decodeLogsRequestProtobuf } from './decode-protobuf';
import type { DecodedRequest } from './decode-common';
import { nowUnixNano } from './decode-common';
import { mergePartial } from './responses';
import { InvalidRequestError, UnavailableError } from './errors';
import type { ReceiverLimits } from './limits';
import { encodeExportResponseProtobuf } from './responses';
import type { Authenticator } from '../../auth/authenticator';
import { AuthError, authorizeRows } from '../../auth/authenticator';
import type { FailureThrottle } from '../../auth/throttle';
import { throttledMessage } from '../../auth/throttle';
import type { TlsConfig } from '../../auth/auth-config';
import { requestIdOf } from './request-id';

export const PROTO_DIR = path.resolve(__dirname, '../../../proto');

export interface GrpcReceiverOptions {
  host: string;
  port: number;
  limits: ReceiverLimits;
  /** Who may send (read at each request, so a reload can rotate keys); absent: anyone. */
  auth?: () => Authenticator;
  tls?: TlsConfig;
  /** Wrong ingest keys per client address (shared with the HTTP receiver); absent: unlimited. */
  throttle?: FailureThrottle;
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

/**
 * The gRPC method path comes from proto/…/logs_service.proto; messages stay raw
 * bytes so they go through the same decoder as OTLP/HTTP protobuf.
 */
export function logsServiceDefinition(): grpc.ServiceDefinition {
  const packageDefinition = protoLoader.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto', {
    includeDirs: [PROTO_DIR],
  });
  const service = packageDefinition[
    'opentelemetry.proto.collector.logs.v1.LogsService'
  ] as grpc.ServiceDefinition;
  const raw = (b: Buffer) => b;
  const exportMethod = service.Export;
  return {
    Export: {
      ...exportMethod,
      requestSerialize: raw,
      requestDeserialize: raw,
      responseSerialize: raw,
      responseDeserialize: raw,
    },
  };
}

export class OtlpGrpcReceiver {
  private server: grpc.Server | undefined;
  private readonly extraServices: Array<[grpc.ServiceDefinition, grpc.UntypedServiceImplementation]> = [];

  /** Other services served on the same port (level control); before start(). */
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.extraServices.push([definition, implementation]);
  }

  constructor(
    private readonly options: GrpcReceiverOptions,
    private readonly consumer: Consumer,
    private readonly metrics?: CollectorMetrics,
  ) {}

  async start(): Promise<number> {
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.options.limits.maxDecompressedBytes,
    });
    server.addService(logsServiceDefinition(), {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        void this.export(call.request, call.metadata, callback, peerAddress(call.getPeer())),
    });
    for (const [definition, implementation] of this.extraServices)
      server.addService(definition, implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${this.options.host}:${this.options.port}`,
        serverCredentials(this.options.tls),
        (err, p) => (err ? reject(err) : resolve(p)),
      ),
    );
    this.server = server;
    return port;
  }

  async stop(): Promise<void> {
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

  private async export(
    request: Buffer,
    metadata: grpc.Metadata,
    callback: grpc.sendUnaryData<Buffer>,
    address: string,
  ): Promise<void> {
    let decoded: DecodedRequest;
    let requestId: bigint;
    const { throttle } = this.options;
    const wait = throttle && this.options.auth?.().ingestRequired ? throttle.retryAfterSeconds(address) : 0;
    if (wait > 0) {
      this.metrics?.refused.inc({ transport: 'grpc', reason: 'throttled' });
      return callback({ code: grpc.status.RESOURCE_EXHAUSTED, details: throttledMessage(address, wait) });
    }
    try {
      // Credentials first: an unknown sender's bytes are not even decoded.
      const authorization = metadataString(metadata, 'authorization');
      let sender;
      try {
        sender = this.options.auth?.().ingest(authorization);
      } catch (err) {
        if (err instanceof AuthError && err.status === 401 && authorization) throttle?.fail(address);
        throw err;
      }
      const receivedAtUnixNano = nowUnixNano();
      decoded = decodeLogsRequestProtobuf(request, { ...this.options.limits, receivedAtUnixNano });
      if (sender) authorizeRows(sender, decoded.rows);
      requestId = requestIdOf(request, decoded.rows, receivedAtUnixNano);
    } catch (err) {
      if (err instanceof AuthError) {
        this.metrics?.refused.inc({
          transport: 'grpc',
          reason: err.status === 401 ? 'unauthenticated' : 'forbidden',
        });
        return callback({
          code: err.status === 401 ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED,
          details: err.message,
        });
      }
      if (err instanceof InvalidRequestError) {
        this.metrics?.refused.inc({ transport: 'grpc', reason: 'invalid' });
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: err.message });
      }
      log('error', 'unexpected error decoding a request', { error: String((err as Error).stack ?? err) });
      return callback({ code: grpc.status.INTERNAL, details: 'internal error while decoding the request' });
    }
    this.metrics?.received.inc({ transport: 'grpc' }, decoded.rows.length + decoded.rejected);
    if (decoded.rejected > 0)
      this.metrics?.refused.inc({ transport: 'grpc', reason: 'invalid_record' }, decoded.rejected);
    try {
      const partial = await this.consumer.consume(decoded.rows, requestId);
      callback(null, encodeExportResponseProtobuf(mergePartial(decoded, partial)));
    } catch (err) {
      if (err instanceof UnavailableError) {
        // OTLP: UNAVAILABLE is retryable; RetryInfo is optional, the client backs off on its own.
        this.metrics?.refused.inc({ transport: 'grpc', reason: 'unavailable' });
        return callback({ code: grpc.status.UNAVAILABLE, details: err.message });
      }
      log('error', 'unexpected error storing a request', { error: String((err as Error).stack ?? err) });
      callback({ code: grpc.status.INTERNAL, details: 'internal error while storing the request' });
    }
  }
}

export function metadataString(metadata: grpc.Metadata, key: string): string | undefined {
  const [value] = metadata.get(key);
  return typeof value === 'string' ? value : value?.toString('utf8');
}
