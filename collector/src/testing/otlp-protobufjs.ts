import path from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_DIR } from '@distlog/proto';

/**
 * For tests only: protobufjs loaded from proto/*.proto, an independent encoder to
 * check the collector's hand-written decoder against. Field names are snake_case.
 */
let root: protobuf.Root | undefined;

function loadRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
  r.loadSync('opentelemetry/proto/collector/logs/v1/logs_service.proto', { keepCase: true });
  root = r;
  return r;
}

export function encodeLogsRequest(request: object): Buffer {
  const type = loadRoot().lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
  const message = type.fromObject(request);
  const err = type.verify(message);
  if (err) throw new Error(`test request does not fit the proto: ${err}`);
  return Buffer.from(type.encode(message).finish());
}

export function decodeLogsResponse(bytes: Buffer): Record<string, unknown> {
  const type = loadRoot().lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse');
  return type.toObject(type.decode(bytes), { longs: String, defaults: false }) as Record<string, unknown>;
}

export function kv(key: string, value: object): object {
  return { key, value };
}
