import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ExportResponse } from '@opentelemetry/otlp-exporter-base';
import { GrpcTransport, plainAddress } from './grpc-transport';

// Distlog's gRPC calls on node:http2, against a real grpc-js server (the library most
// OTLP/gRPC servers in Node are built on) whose handler decides each answer.

const PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';
const bytes = (b: Buffer) => b;

interface Call {
  request: Buffer;
  metadata: Record<string, unknown>;
}

async function grpcServer(
  answer: (call: Call) => grpc.ServiceError | Buffer,
  options: grpc.ServerOptions = {},
): Promise<{ address: string; calls: Call[]; close(): Promise<void> }> {
  const calls: Call[] = [];
  const server = new grpc.Server(options);
  server.addService(
    {
      Export: {
        path: PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: bytes,
        requestDeserialize: bytes,
        responseSerialize: bytes,
        responseDeserialize: bytes,
      },
    },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const one = { request: call.request, metadata: call.metadata.getMap() };
        calls.push(one);
        const result = answer(one);
        if (Buffer.isBuffer(result)) callback(null, result);
        else callback(result);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

const status = (code: grpc.status, details: string) =>
  Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() }) as grpc.ServiceError;

const message = Buffer.from('an ExportLogsServiceRequest');
/** The error of an answer that is not a success. */
const errorOf = (r: ExportResponse) => (r as { error?: Error }).error as Error & { code: number };

describe('GrpcTransport', () => {
  it('makes the call with its metadata and reads the answer; calls share one connection', async () => {
    const srv = await grpcServer(() => Buffer.from('the response'));
    const t = new GrpcTransport({ address: srv.address, metadata: { authorization: 'Bearer k' } });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await t.send(message, 5000);
        expect(r.status).toBe('success');
        expect(Buffer.from((r as { data: Uint8Array }).data).toString()).toBe('the response');
      }
      expect(srv.calls).toHaveLength(3);
      expect(srv.calls[0].request.equals(message)).toBe(true);
      expect(srv.calls[0].metadata).toMatchObject({ authorization: 'Bearer k' });
      expect(String(srv.calls[0].metadata['user-agent'])).toMatch(/Distlog/);
    } finally {
      t.shutdown();
      await srv.close();
    }
  });

  it('an error status reads as grpc-js words it; UNAVAILABLE from the server is retryable, the rest not', async () => {
    let next: grpc.ServiceError = status(grpc.status.UNAVAILABLE, 'the collector is busy');
    const srv = await grpcServer(() => next);
    const t = new GrpcTransport({ address: srv.address, metadata: {} });
    try {
      const busy = await t.send(message, 5000);
      expect(busy.status).toBe('retryable');
      expect(errorOf(busy).message).toBe('14 UNAVAILABLE: the collector is busy');
      next = status(grpc.status.INVALID_ARGUMENT, 'bad request: 50% wrong');
      const bad = await t.send(message, 5000);
      expect(bad.status).toBe('failure');
      expect(errorOf(bad)).toMatchObject({
        code: 3,
        message: '3 INVALID_ARGUMENT: bad request: 50% wrong',
      });
    } finally {
      t.shutdown();
      await srv.close();
    }
  });

  it('a message over the server’s limit: RESOURCE_EXHAUSTED "larger than max", not retried', async () => {
    const srv = await grpcServer(() => Buffer.alloc(0), { 'grpc.max_receive_message_length': 1024 });
    const t = new GrpcTransport({ address: srv.address, metadata: {} });
    try {
      const r = await t.send(Buffer.alloc(4096, 1), 5000);
      expect(r.status).toBe('failure');
      const error = errorOf(r);
      expect(error.code).toBe(8);
      expect(error.message).toMatch(/^8 RESOURCE_EXHAUSTED: .*larger than max/i);
      expect(srv.calls).toHaveLength(0);
    } finally {
      t.shutdown();
      await srv.close();
    }
  });

  it('no server, or one that is not HTTP/2: UNAVAILABLE at once (not retried), with the cause', async () => {
    const free = net.createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const port = (free.address() as AddressInfo).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const refused = await new GrpcTransport({ address: `127.0.0.1:${port}`, metadata: {} }).send(
      message,
      5000,
    );
    expect(refused.status).toBe('failure');
    expect(errorOf(refused).message).toMatch(/^14 UNAVAILABLE: connect ECONNREFUSED/);

    const h1 = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => h1.listen(0, '127.0.0.1', resolve));
    const t = new GrpcTransport({ address: `127.0.0.1:${(h1.address() as AddressInfo).port}`, metadata: {} });
    const wrong = await t.send(message, 5000);
    t.shutdown();
    h1.closeAllConnections();
    await new Promise<void>((resolve) => h1.close(() => resolve()));
    expect(wrong.status).toBe('failure');
    // The SDK's wrong-port hint looks for these words (init.ts, wrongPortHint).
    expect(errorOf(wrong).message).toMatch(/^14 UNAVAILABLE: .*Protocol error/);
  });

  it('a call without an answer in time ends as DEADLINE_EXCEEDED, and the server is told the deadline', async () => {
    // A server that takes the call and never answers: a plain HTTP/2 server.
    const seen: string[] = [];
    const silent = http2.createServer();
    silent.on('stream', (_stream, headers) => seen.push(String(headers['grpc-timeout'])));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const t = new GrpcTransport({
      address: `127.0.0.1:${(silent.address() as AddressInfo).port}`,
      metadata: {},
    });
    try {
      const r = await t.send(message, 300);
      expect(r.status).toBe('failure');
      expect(errorOf(r).message).toBe('4 DEADLINE_EXCEEDED: Deadline exceeded');
      expect(seen).toEqual(['300m']);
    } finally {
      t.shutdown();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('takes the addresses grpc-js would connect to plainly, and only those', () => {
    expect(plainAddress('localhost:4317')).toEqual({ host: 'localhost', port: 4317 });
    expect(plainAddress('[::1]:4317')).toEqual({ host: '[::1]', port: 4317 });
    expect(plainAddress('dns:///collector:4317')).toEqual({ host: 'collector', port: 4317 });
    expect(plainAddress('unix:///tmp/otlp.sock')).toBeUndefined();
    expect(plainAddress('collector')).toBeUndefined();
  });
});
