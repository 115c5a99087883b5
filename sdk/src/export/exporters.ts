import type { OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from '@opentelemetry/otlp-exporter-base/node-http';
import type { OTLPGRPCExporterConfigNode } from '@opentelemetry/otlp-grpc-exporter-base';
import {
  convertLegacyOtlpGrpcOptions,
  createOtlpGrpcExportDelegate,
} from '@opentelemetry/otlp-grpc-exporter-base';
import { LogsExporterMetricsHelper, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { OTLPLogExporter as HttpJsonExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { serializeLogsRequest } from './logs-protobuf';
import type { OtlpProtocol } from '../config';

/**
 * The OTLP log exporters for protobuf (gRPC and HTTP): the OTel SDK's own delivery
 * (OTEL_EXPORTER_OTLP_* endpoint, headers, compression, timeout, certificates; retries
 * with backoff), with Distlog's request serializer (logs-protobuf.ts, ~0.4× the OTel
 * serializer's time). Built from the pieces @opentelemetry/exporter-logs-otlp-grpc and
 * -proto are made of, which are marked experimental: their versions are kept in step
 * (~0.223) in package.json.
 */
const serializer = {
  serializeRequest: serializeLogsRequest,
  deserializeResponse: (data: Uint8Array) => ProtobufLogsSerializer.deserializeResponse(data),
};

/** An already serialized ExportLogsServiceRequest passes through as it is (crash-export.ts). */
const passThrough = {
  serializeRequest: (request: Uint8Array) => request,
  deserializeResponse: serializer.deserializeResponse,
} as unknown as typeof serializer; // the delegates are typed for records; bytes go through untouched

export class ProtobufHttpLogExporter
  extends OTLPExporterBase<ReadableLogRecord[]>
  implements LogRecordExporter
{
  constructor(config: OTLPExporterNodeConfigBase = {}) {
    super(
      createOtlpHttpExportDelegate(
        convertLegacyHttpOptions(config, 'LOGS', 'v1/logs', { 'Content-Type': 'application/x-protobuf' }),
        serializer,
        'otlp_http_log_exporter',
        LogsExporterMetricsHelper,
        undefined,
      ),
    );
  }
}

export class GrpcLogExporter extends OTLPExporterBase<ReadableLogRecord[]> implements LogRecordExporter {
  constructor(config: OTLPGRPCExporterConfigNode = {}) {
    super(
      createOtlpGrpcExportDelegate(
        convertLegacyOtlpGrpcOptions(config, 'LOGS'),
        serializer,
        'otlp_grpc_log_exporter',
        LogsExporterMetricsHelper,
        undefined,
        'LogsExportService',
        '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
      ),
    );
  }
}

/**
 * The exporter for a protocol and endpoint (the rest of the OTLP settings come from
 * OTEL_EXPORTER_OTLP_* variables). An endpoint for HTTP is the base URL or the full
 * /v1/logs URL.
 */
export function createExporter(protocol: OtlpProtocol, endpoint: string | undefined): LogRecordExporter {
  if (protocol === 'grpc') return new GrpcLogExporter(endpoint ? { url: endpoint } : {});
  const config = httpConfig(endpoint);
  return protocol === 'http/json' ? new HttpJsonExporter(config) : new ProtobufHttpLogExporter(config);
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
