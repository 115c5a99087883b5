// The SDK bench's OTLP endpoint: OTLP/HTTP protobuf and OTLP/gRPC servers that count the log
// records of each request by service name and answer success — nothing more. The bench used
// the collector's receivers, which decode every record: on these two cores that took a core
// from the app being measured (its thread waited ~350 ns a call for one, against plain pino's
// ~70), so the endpoint's cost showed up as the SDK's. Counting walks the protobuf and skips
// the records' bytes. Not a test; its counting is tested (counting-endpoint.test.ts).
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { WireReader, WIRE_LEN } from '@distlog/proto';
import { STREAM_WINDOW_BYTES, CONNECTION_WINDOW_BYTES } from '@distlog/collector';

const EXPORT_PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

/**
 * Calls `each(field, end)` for every length-delimited field of the message that runs from
 * `r.pos` to `end` (the field's bytes are `r.pos`…`end` then), and skips every other field.
 */
function eachLengthDelimited(
  r: WireReader,
  end: number,
  each: (field: number, fieldEnd: number) => void,
): void {
  while (r.pos < end) {
    const tag = r.varint();
    if ((tag & 7) !== WIRE_LEN) {
      r.skip(tag & 7);
      continue;
    }
    const fieldEnd = r.lengthDelimitedEnd();
    each(tag >>> 3, fieldEnd);
    r.pos = fieldEnd;
  }
}

/** Adds the log records of one ExportLogsServiceRequest to `counts`, by `service.name` ('' when none). */
export function countLogRecords(body: Buffer, counts: Map<string, number>): number {
  let total = 0;
  const r = new WireReader(body);
  // resource_logs = 1 → ResourceLogs: resource = 1, scope_logs = 2 → ScopeLogs: log_records = 2.
  eachLengthDelimited(r, r.end, (field, resourceLogsEnd) => {
    if (field !== 1) return;
    let service = '';
    let records = 0;
    eachLengthDelimited(r, resourceLogsEnd, (part, partEnd) => {
      if (part === 1) service = serviceName(r, partEnd) ?? service;
      else if (part === 2) eachLengthDelimited(r, partEnd, (f) => void (f === 2 && records++));
    });
    counts.set(service, (counts.get(service) ?? 0) + records);
    total += records;
  });
  return total;
}

/** Resource: attributes = 1 → KeyValue: key = 1, value = 2 → AnyValue: string_value = 1. */
function serviceName(r: WireReader, end: number): string | undefined {
  let found: string | undefined;
  const text = (to: number) => r.buf.toString('utf8', r.pos, to);
  eachLengthDelimited(r, end, (field, attributeEnd) => {
    if (field !== 1) return;
    let key = '';
    let value: string | undefined;
    eachLengthDelimited(r, attributeEnd, (part, partEnd) => {
      if (part === 1) key = text(partEnd);
      else if (part === 2)
        eachLengthDelimited(r, partEnd, (f, fEnd) => void (f === 1 && (value = text(fEnd))));
    });
    if (key === 'service.name') found = value;
  });
  return found;
}

export interface CountingEndpoint {
  httpPort: number;
  grpcPort: number;
  /** Records received so far, by service name. */
  counts: Map<string, number>;
  close(): Promise<void>;
}

/** Both servers on 127.0.0.1, ephemeral ports. An unreadable request is an error answer, counted as nothing. */
export async function startCountingEndpoint(): Promise<CountingEndpoint> {
  const counts = new Map<string, number>();
  const httpServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        if (req.url !== '/v1/logs') throw new Error(`no such path ${req.url}`);
        countLogRecords(Buffer.concat(chunks), counts);
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      } catch (error) {
        res.writeHead(400).end(String(error));
      }
    });
  });
  // The collector's gRPC receiver's flow-control windows: with HTTP/2's 64 KiB a request of
  // 1024 records waits for window updates, and the client's cost is not what it is against a collector.
  const grpcServer = http2.createServer({ settings: { initialWindowSize: STREAM_WINDOW_BYTES } });
  const sessions = new Set<http2.ServerHttp2Session>();
  grpcServer.on('session', (session) => {
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  grpcServer.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      let status = 0;
      let message = '';
      try {
        if (headers[':path'] !== EXPORT_PATH) throw new Error(`no such method ${headers[':path']}`);
        // gRPC messages: a compressed flag byte, a 4-byte length, the message.
        const body = Buffer.concat(chunks);
        for (let at = 0; at + 5 <= body.length;) {
          const length = body.readUInt32BE(at + 1);
          countLogRecords(body.subarray(at + 5, at + 5 + length), counts);
          at += 5 + length;
        }
      } catch (error) {
        status = 3; // INVALID_ARGUMENT
        message = String(error);
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () =>
        stream.sendTrailers(
          status
            ? { 'grpc-status': String(status), 'grpc-message': encodeURIComponent(message) }
            : { 'grpc-status': '0' },
        ),
      );
      // An empty ExportLogsServiceResponse.
      stream.end(status ? undefined : Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  const listen = (server: http.Server | http2.Http2Server) =>
    new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
    );
  const httpPort = await listen(httpServer);
  const grpcPort = await listen(grpcServer);
  return {
    httpPort,
    grpcPort,
    counts,
    close: async () => {
      httpServer.closeAllConnections();
      for (const session of sessions) session.destroy();
      await Promise.all([new Promise((r) => httpServer.close(r)), new Promise((r) => grpcServer.close(r))]);
    },
  };
}
