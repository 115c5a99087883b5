import { OTLPExporterBase, createOtlpNetworkExportDelegate } from '@opentelemetry/otlp-exporter-base';
import {
  convertLegacyHttpOptions,
  createOtlpHttpExportDelegate,
  createOtlpHttpExporterMetrics,
} from '@opentelemetry/otlp-exporter-base/node-http';
import {
  convertLegacyOtlpGrpcOptions,
  createOtlpGrpcExportDelegate,
  createOtlpGrpcExporterMetrics,
} from '@opentelemetry/otlp-grpc-exporter-base';
import {
  JsonLogsSerializer,
  LogsExporterMetricsHelper,
  ProtobufLogsSerializer,
} from '@opentelemetry/otlp-transformer';
import { serializeLogsRequest } from './logs-protobuf';
import { SizedRequestExporter, maxRequestBytesFrom } from './sized-requests';
import { Http1Transport, withRetries } from './http1-transport';
import { GrpcTransport, plainAddress } from './grpc-transport';
import type { OtlpProtocol } from '../config';

/**
 * The OTLP log exporters: requests Distlog serializes (protobuf: logs-protobuf.ts, ~0.4×
 * the OTel serializer's time; JSON: the OTel SDK's JSON serializer) and sizes
 * (sized-requests.ts), delivered by the OTel SDK's export delegate (OTEL_EXPORTER_OTLP_*
 * endpoint, headers, compression, timeout, certificates) over Distlog's own HTTP/1.1 and
 * HTTP/2 clients where the connection is plain (http1-transport.ts, grpc-transport.ts),
 * else over the OTel transports (node:http/https, grpc-js). Built from the pieces
 * @opentelemetry/exporter-logs-otlp-grpc and -proto are made of, which are marked
 * experimental: their versions are kept in step (~0.223 / ~0.301) in package.json.
 */
/**
 * A serialized ExportLogsServiceRequest passes through as it is; the answer is read for
 * its partial_success (records the endpoint refused), which the OTel delegate only logs
 * at OTEL_LOG_LEVEL=warn. The delegate reads the answer and then calls back in the same
 * turn, so the last answer read is that callback's (take()).
 */
function passThrough(json = false): {
  serializer: Parameters<typeof createOtlpHttpExportDelegate>[1];
  take(): { rejected: number; message: string } | undefined;
} {
  let last: { rejected: number; message: string } | undefined;
  const serializer = {
    serializeRequest: (request: Uint8Array) => request,
    deserializeResponse: (data: Uint8Array) => {
      const response = (json ? JsonLogsSerializer : ProtobufLogsSerializer).deserializeResponse(data);
      const partial = response?.partialSuccess as
        { rejectedLogRecords?: unknown; errorMessage?: string } | undefined;
      const rejected = Number(partial?.rejectedLogRecords ?? 0);
      if (rejected > 0) last = { rejected, message: partial?.errorMessage ?? '' };
      return response;
    },
  } as unknown as Parameters<typeof createOtlpHttpExportDelegate>[1]; // typed for records; bytes go through untouched
  return {
    serializer,
    take() {
      const taken = last;
      last = undefined;
      return taken;
    },
  };
}

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
  // OTLP/JSON is serialized by the OTel SDK's JSON serializer, and sent the same way.
  const json = protocol === 'http/json';
  const answers = passThrough(json);
  const bytes = createSerializedExporter(protocol, endpoint, answers.serializer, json);
  return new SizedRequestExporter(
    {
      send: (body, done) =>
        bytes.export(body as Uint8Array, (result) => {
          const partial = answers.take();
          done(
            partial ? { ...result, rejected: partial.rejected, rejectionMessage: partial.message } : result,
          );
        }),
      shutdown: () => bytes.shutdown(),
      forceFlush: () => bytes.forceFlush(),
    },
    json ? (records) => JsonLogsSerializer.serializeRequest(records)! : serializeLogsRequest,
    maxRequestBytes,
  );
}

/**
 * The same delivery for a request serialized already: protobuf, or JSON where `json`
 * (the crash path sends protobuf for OTLP/HTTP JSON too).
 */
export function createSerializedExporter(
  protocol: OtlpProtocol,
  endpoint: string | undefined,
  serializer = passThrough().serializer,
  json = false,
): OTLPExporterBase<Uint8Array> {
  if (protocol === 'grpc') {
    const options = convertLegacyOtlpGrpcOptions(endpoint ? { url: endpoint } : {}, 'LOGS');
    if (process.env.DISTLOG_EXPORT_GRPC_CLIENT !== 'grpc-js' && leanGrpcFits(options)) {
      // Plain connections without compression: calls on node:http2 (grpc-transport.ts).
      const metadata = options.metadata().getMap();
      return new OTLPExporterBase<Uint8Array>(
        createOtlpNetworkExportDelegate(
          options,
          serializer,
          createOtlpGrpcExporterMetrics(
            'otlp_grpc_log_exporter',
            LogsExporterMetricsHelper,
            options.url,
            undefined,
          ),
          withRetries(new GrpcTransport({ address: options.url, metadata, userAgent: options.userAgent })),
        ) as never,
      );
    }
    return new OTLPExporterBase<Uint8Array>(
      createOtlpGrpcExportDelegate(
        options,
        serializer,
        'otlp_grpc_log_exporter',
        LogsExporterMetricsHelper,
        undefined,
        'LogsExportService',
        '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
      ) as never,
    );
  }
  const options = convertLegacyHttpOptions(httpConfig(endpoint), 'LOGS', 'v1/logs', {
    'Content-Type': json ? 'application/json' : 'application/x-protobuf',
  });
  if (process.env.DISTLOG_EXPORT_HTTP_CLIENT !== 'node' && leanHttpFits(options))
    // Plain http: without compression (the common case, a collector nearby): Distlog's own
    // HTTP/1.1 client (http1-transport.ts), in the OTel delegate (deadline, partial success).
    return new OTLPExporterBase<Uint8Array>(
      createOtlpNetworkExportDelegate(
        options,
        serializer,
        createOtlpHttpExporterMetrics(
          'otlp_http_log_exporter',
          LogsExporterMetricsHelper,
          options.url,
          undefined,
        ),
        withRetries(new Http1Transport(options)),
      ) as never,
    );
  return new OTLPExporterBase<Uint8Array>(
    createOtlpHttpExportDelegate(
      options,
      serializer,
      'otlp_http_log_exporter',
      LogsExporterMetricsHelper,
      undefined,
    ) as never,
  );
}

/** TLS (or credentials of the app's own), gzip and addresses other than host:port go through grpc-js. */
function leanGrpcFits(options: {
  url: string;
  compression?: string;
  credentials: () => { _isSecure(): boolean };
}): boolean {
  try {
    return (
      (options.compression ?? 'none') === 'none' &&
      plainAddress(options.url) !== undefined &&
      !options.credentials()._isSecure()
    );
  } catch {
    return false;
  }
}

/** TLS, gzip and anything but a plain `http:` URL go through the OTel exporter's node:http transport. */
function leanHttpFits(options: { url: string; compression?: string }): boolean {
  try {
    return new URL(options.url).protocol === 'http:' && (options.compression ?? 'none') === 'none';
  } catch {
    return false;
  }
}

function httpConfig(endpoint: string | undefined): { url?: string } {
  return endpoint ? { url: endpoint.replace(/\/+$/, '').replace(/(\/v1\/logs)?$/, '/v1/logs') } : {};
}
