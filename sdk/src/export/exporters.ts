import { OTLPExporterBase, OTLPExporterNodeConfigBase } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
} from '@opentelemetry/otlp-exporter-base/node-http';
import {
  convertLegacyOtlpGrpcOptions,
  createOtlpGrpcExportDelegate,
  OTLPGRPCExporterConfigNode,
} from '@opentelemetry/otlp-grpc-exporter-base';
import { LogsExporterMetricsHelper, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { LogRecordExporter, ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { serializeLogsRequest } from './logs-protobuf';

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
