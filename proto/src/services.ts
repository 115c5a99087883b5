import path from 'node:path';

/** The folder holding the `.proto` files (opentelemetry/…, distlog/v1/…), for protobuf loaders. */
export const PROTO_DIR = path.resolve(__dirname, '..');

/**
 * A gRPC method whose messages stay bytes (each side encodes and decodes them itself):
 * the shape @grpc/grpc-js takes as a service definition's method, without depending on it.
 */
export interface RawMethod {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  originalName: string;
  requestSerialize: (b: Buffer) => Buffer;
  requestDeserialize: (b: Buffer) => Buffer;
  responseSerialize: (b: Buffer) => Buffer;
  responseDeserialize: (b: Buffer) => Buffer;
}

const raw = (b: Buffer) => b;

function method(service: string, name: string, stream: { request: boolean; response: boolean }): RawMethod {
  return {
    path: `/${service}/${name}`,
    requestStream: stream.request,
    responseStream: stream.response,
    originalName: name[0].toLowerCase() + name.slice(1),
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  };
}

/** opentelemetry.proto.collector.logs.v1.LogsService (logs_service.proto): Export, unary. */
export function logsServiceDefinition(): { Export: RawMethod } {
  return {
    Export: method('opentelemetry.proto.collector.logs.v1.LogsService', 'Export', {
      request: false,
      response: false,
    }),
  };
}

/**
 * opentelemetry.proto.collector.trace.v1.TraceService (trace_service.proto): Export, unary.
 * The collector takes spans as scope records (collector/src/receivers/otlp/decode-traces.ts).
 */
export function traceServiceDefinition(): { Export: RawMethod } {
  return {
    Export: method('opentelemetry.proto.collector.trace.v1.TraceService', 'Export', {
      request: false,
      response: false,
    }),
  };
}
