import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Consumer } from '../../pipeline/pipeline';
import { log } from '../../helpers/log';
import { CollectorMetrics } from '../../telemetry/metrics';
import { decodeLogsRequestProtobuf } from './decode-protobuf';
import { DecodedRequest, nowUnixNano } from './decode-common';
import { mergePartial } from './responses';
import { InvalidRequestError, UnavailableError } from './errors';
import { ReceiverLimits } from './limits';
import { encodeExportResponseProtobuf } from './responses';

export const PROTO_DIR = path.resolve(__dirname, '../../../../proto');

export interface GrpcReceiverOptions {
  host: string;
  port: number;
  limits: ReceiverLimits;
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
        void this.export(call.request, callback),
    });
    for (const [definition, implementation] of this.extraServices)
      server.addService(definition, implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(
        `${this.options.host}:${this.options.port}`,
        grpc.ServerCredentials.createInsecure(),
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

  private async export(request: Buffer, callback: grpc.sendUnaryData<Buffer>): Promise<void> {
    let decoded: DecodedRequest;
    try {
      decoded = decodeLogsRequestProtobuf(request, {
        ...this.options.limits,
        receivedAtUnixNano: nowUnixNano(),
      });
    } catch (err) {
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
      const partial = await this.consumer.consume(decoded.rows);
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
