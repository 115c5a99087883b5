import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from '@opentelemetry/otlp-exporter-base/node-http';
import {
  convertLegacyOtlpGrpcOptions,
  createOtlpGrpcExportDelegate,
} from '@opentelemetry/otlp-grpc-exporter-base';
import { LogsExporterMetricsHelper, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter as HttpJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { serializeLogsRequest } from './logs-protobuf';
import { SizedRequestExporter, maxRequestBytesFrom } from './sized-requests';
import type { OtlpProtocol } from '../config';

/**
 * The OTLP log exporters. For protobuf (gRPC and HTTP): the OTel SDK's own delivery
 * (OTEL_EXPORTER_OTLP_* endpoint, headers, compression, timeout, certificates; retries
 * with backoff) of requests Distlog serializes (logs-protobuf.ts, ~0.4× the OTel
 * serializer's time) and sizes (sized-requests.ts). Built from the pieces
 * @opentelemetry/exporter-logs-otlp-grpc and -proto are made of, which are marked
 * experimental: their versions are kept in step (~0.223) in package.json.
 */
/** A serialized ExportLogsServiceRequest passes through as it is. */
const passThrough = {
  serializeRequest: (request: Uint8Array) => request,
  deserializeResponse: (data: Uint8Array) => ProtobufLogsSerializer.deserializeResponse(data),
} as unknown as Parameters<typeof createOtlpHttpExportDelegate>[1]; // typed for records; bytes go through untouched

/**
 * The exporter for a protocol and endpoint (the rest of the OTLP settings come from
 * OTEL_EXPORTER_OTLP_* variables). An endpoint for HTTP is the base URL or the full
 * /v1/logs URL. Batches go in requests of at most `maxRequestBytes` (sized-requests.ts).
 */
export function createExporter(
  protocol: OtlpProtocol,
  endpoint: string | undefined,
  maxRequestBytes = maxRequestBytesFrom(),
): SizedRequestExporter {
  if (protocol === 'http/json') {
    // The OTel exporter serializes JSON itself: only a refused request is split.
    const json = new HttpJsonExporter(httpConfig(endpoint));
    return new SizedRequestExporter(
      {
        send: (records, done) => json.export(records as ReadableLogRecord[], done),
        shutdown: () => json.shutdown(),
        forceFlush: () => json.forceFlush(),
      },
      undefined,
      maxRequestBytes,
    );
  }
  const bytes = createSerializedExporter(protocol, endpoint);
  return new SizedRequestExporter(
    {
      send: (body, done) => bytes.export(body as Uint8Array, done),
      shutdown: () => bytes.shutdown(),
      forceFlush: () => bytes.forceFlush(),
    },
    serializeLogsRequest,
    maxRequestBytes,
  );
}

/** The same delivery for a request serialized already (protobuf; HTTP/JSON sends it as protobuf). */
export function createSerializedExporter(
  protocol: OtlpProtocol,
  endpoint: string | undefined,
): OTLPExporterBase<Uint8Array> {
  if (protocol === 'grpc')
    return new OTLPExporterBase<Uint8Array>(
      createOtlpGrpcExportDelegate(
        convertLegacyOtlpGrpcOptions(endpoint ? { url: endpoint } : {}, 'LOGS'),
        passThrough,
        'otlp_grpc_log_exporter',
        LogsExporterMetricsHelper,
        undefined,
        'LogsExportService',
        '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
      ) as never,
    );
  return new OTLPExporterBase<Uint8Array>(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions(httpConfig(endpoint), 'LOGS', 'v1/logs', {
        'Content-Type': 'application/x-protobuf',
      }),
      passThrough,
      'otlp_http_log_exporter',
      LogsExporterMetricsHelper,
      undefined,
    ) as never,
  );
}

function httpConfig(endpoint: string | undefined): { url?: string } {
  return endpoint ? { url: endpoint.replace(/\/+$/, '').replace(/(\/v1\/logs)?$/, '/v1/logs') } : {};
}
