import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import { Http1Transport, parseAnswer, retryAfterMillis, withRetries } from './http1-transport';

// Distlog's HTTP/1.1 client for OTLP/HTTP exports, against real servers: node:http, and raw
// sockets where an answer has to be shaped byte by byte.

interface Seen {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  socket: net.Socket;
}

/** An HTTP server whose handler decides each answer; it records what it was sent. */
async function server(
  handle: (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void,
  configure?: (s: http.Server) => void,
): Promise<{ url: string; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const s = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const one = {
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks),
        socket: req.socket,
      };
      seen.push(one);
      handle(req, res, one);
    });
  });
  configure?.(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1/logs`,
    seen,
    close: () => new Promise<void>((resolve) => (s.closeAllConnections(), s.close(() => resolve()))),
  };
}

/** A TCP server that writes `answer` (bytes) to every connection once it has read a request. */
async function rawServer(
  answer: (n: number) => Buffer | string,
): Promise<{ url: string; close(): Promise<void> }> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const s = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => socket.write(answer(n++)));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1/logs`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        s.close(() => resolve());
      }),
  };
}

const body = Buffer.from('a request body');
const transport = (url: string, headers: Record<string, string> = {}) =>
  new Http1Transport({ url, headers: () => ({ 'Content-Type': 'application/x-protobuf', ...headers }) });

describe('parseAnswer', () => {
  const bytes = (s: string) => Buffer.from(s, 'latin1');

  it('reads a status, headers and a Content-Length body; waits for the rest', () => {
    const full = bytes('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=10\r\n\r\nhello');
    expect(parseAnswer(full.subarray(0, 30), false)).toBe('incomplete');
    expect(parseAnswer(full.subarray(0, full.length - 1), false)).toBe('incomplete');
    const parsed = parseAnswer(full, false);
    expect(parsed).not.toBe('incomplete');
    if (parsed === 'incomplete') return;
    expect(parsed.answer.status).toBe(200);
    expect(parsed.answer.body.toString()).toBe('hello');
    expect(parsed.keepAlive).toBe(true);
    expect(parsed.idleMs).toBe(9500);
    expect(parsed.end).toBe(full.length);
  });

  it('reads a chunked body with extensions and trailers, after a 100 Continue', () => {
    const full = bytes(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Payload Too Large\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '4;x=y\r\ntoo \r\n5\r\nlarge\r\n0\r\nX-Trailer: 1\r\n\r\n',
    );
    expect(parseAnswer(full.subarray(0, full.length - 2), false)).toBe('incomplete');
    const parsed = parseAnswer(full, false);
    if (parsed === 'incomplete') throw new Error('incomplete');
    expect(parsed.answer.status).toBe(413);
    expect(parsed.answer.reason).toBe('Payload Too Large');
    expect(parsed.answer.body.toString()).toBe('too large');
  });

  it('closes after "Connection: close", HTTP/1.0 and a body to the end of the connection', () => {
    const close = parseAnswer(
      bytes('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'),
      false,
    );
    expect(close !== 'incomplete' && close.keepAlive).toBe(false);
    const old = parseAnswer(bytes('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n'), false);
    expect(old !== 'incomplete' && old.keepAlive).toBe(false);
    const toEnd = bytes('HTTP/1.1 200 OK\r\n\r\nall of it');
    expect(parseAnswer(toEnd, false)).toBe('incomplete');
    const ended = parseAnswer(toEnd, true);
    expect(ended !== 'incomplete' && ended.answer.body.toString()).toBe('all of it');
  });

  it('refuses what is not HTTP/1.x, in the words the port hint looks for', () => {
    // What an HTTP/2-only (gRPC) server sends first: a SETTINGS frame.
    const settings = Buffer.from([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]);
    expect(() => parseAnswer(settings, false)).toThrow(/Parse Error: Expected HTTP\//);
    expect(() => parseAnswer(bytes('HTTP/1.1 2x0 OK\r\n\r\n'), false)).toThrow(/Parse Error/);
    expect(() => parseAnswer(bytes('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'), false)).toThrow(
      /Invalid Content-Length/,
    );
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(retryAfterMillis('3')).toBe(3000);
    expect(retryAfterMillis(undefined)).toBeUndefined();
    expect(retryAfterMillis('soon')).toBeUndefined();
    const inTen = retryAfterMillis(new Date(Date.now() + 10_000).toUTCString())!;
    expect(inTen).toBeGreaterThan(8000);
    expect(inTen).toBeLessThanOrEqual(10_000);
  });
});

describe('Http1Transport', () => {
  it('posts the body with its headers and reads the answer; requests share one connection', async () => {
    const srv = await server((_req, res) => res.end('answer'));
    const t = transport(srv.url, { Authorization: 'Bearer k' });
    try {
      const results: ExportResponse[] = [];
      for (let i = 0; i < 3; i++) results.push(await t.send(body, 5000));
      for (const r of results) {
        expect(r.status).toBe('success');
        expect(Buffer.from((r as { data: Uint8Array }).data).toString()).toBe('answer');
      }
      expect(srv.seen).toHaveLength(3);
      const [first] = srv.seen;
      expect(first.method).toBe('POST');
      expect(first.url).toBe('/v1/logs');
      expect(first.body.equals(body)).toBe(true);
      expect(first.headers).toMatchObject({
        'content-type': 'application/x-protobuf',
        'content-length': String(body.length),
        authorization: 'Bearer k',
      });
      expect(first.headers['user-agent']).toMatch(/Distlog/);
      expect(new Set(srv.seen.map((s) => s.socket)).size).toBe(1);
    } finally {
      t.shutdown();
      await srv.close();
    }
  });

  it('a refusal is a failure carrying the status (413: the request-size rule reads it)', async () => {
    const srv = await server((_req, res) => {
      res.statusCode = 413;
      res.end('too large');
    });
    const t = transport(srv.url);
    try {
      const r = await t.send(body, 5000);
      expect(r.status).toBe('failure');
      const error = (r as { error: Error & { code?: number; data?: string } }).error;
      expect(error.code).toBe(413);
      expect(error.data).toBe('too large');
    } finally {
      t.shutdown();
      await srv.close();
    }
  });

  it('the server’s own words in an error body (google.rpc.Status, protobuf or JSON) are in the error’s message', async () => {
    // google.rpc.Status { code: 16, message: "the ingest key is not valid" } in protobuf.
    const status = Buffer.concat([
      Buffer.from([0x08, 16, 0x12, 27]),
      Buffer.from('the ingest key is not valid'),
    ]);
    const srv = await server((req, res) => {
      res.statusCode = 401;
      const json = req.url === '/json/v1/logs';
      res.setHeader('Content-Type', json ? 'application/json' : 'application/x-protobuf');
      res.end(json ? JSON.stringify({ code: 16, message: 'send an ingest key' }) : status);
    });
    try {
      const proto = await transport(srv.url).send(body, 5000);
      expect((proto as { error: Error }).error.message).toBe(
        'Unauthorized (HTTP 401): the ingest key is not valid',
      );
      const json = await transport(srv.url.replace('/v1/logs', '/json/v1/logs')).send(body, 5000);
      expect((json as { error: Error }).error.message).toBe('Unauthorized (HTTP 401): send an ingest key');
    } finally {
      await srv.close();
    }
  });

  it('503 with Retry-After is retryable after that long', async () => {
    const srv = await server((_req, res) => {
      res.statusCode = 503;
      res.setHeader('Retry-After', '2');
      res.end();
    });
    const t = transport(srv.url);
    try {
      const r = await t.send(body, 5000);
      expect(r).toMatchObject({ status: 'retryable', retryInMillis: 2000 });
      expect((r as { error: Error & { code?: number } }).error).toMatchObject({
        code: 503,
        message: 'Service Unavailable (HTTP 503)',
      });
    } finally {
      t.shutdown();
      await srv.close();
    }
  });

  it('a connection the server closed while idle is replaced, the request not lost', async () => {
    const srv = await server(
      (_req, res) => res.end(),
      (s) => (s.keepAliveTimeout = 50),
    );
    const t = transport(srv.url);
    try {
      expect((await t.send(body, 5000)).status).toBe('success');
      await new Promise((r) => setTimeout(r, 200)); // the server has closed the idle connection
      expect((await t.send(body, 5000)).status).toBe('success');
      expect(srv.seen).toHaveLength(2);
      expect(srv.seen[0].socket).not.toBe(srv.seen[1].socket);
    } finally {
      t.shutdown();
      await srv.close();
    }
  });

  it('a kept-alive connection closed as the next request goes out: sent again on a new one', async () => {
    // The race a keep-alive timeout makes: the connection looks open, the server closes it
    // on the next request's bytes without an answer. Here: each connection answers one request.
    const connections: net.Socket[] = [];
    const s = net.createServer((socket) => {
      connections.push(socket);
      let requests = 0;
      socket.on('data', () => {
        if (requests++ === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        else socket.destroy();
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const t = transport(`http://127.0.0.1:${(s.address() as AddressInfo).port}/v1/logs`);
    try {
      expect((await t.send(body, 5000)).status).toBe('success');
      expect((await t.send(body, 5000)).status).toBe('success');
      expect(connections).toHaveLength(2);
    } finally {
      t.shutdown();
      for (const c of connections) c.destroy();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  it('a chunked answer split over writes, and a server that closes after each answer', async () => {
    const srv = await rawServer(
      () => 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    );
    const t = transport(srv.url);
    try {
      for (let i = 0; i < 2; i++) {
        const r = await t.send(body, 5000);
        expect(r.status).toBe('success');
        expect(Buffer.from((r as { data: Uint8Array }).data).toString()).toBe('abc');
      }
    } finally {
      t.shutdown();
      await srv.close();
    }
  });

  it('no answer in time is retryable; a refused connection is retryable with its code; a non-HTTP answer fails', async () => {
    const silent = net.createServer((socket) => socket.resume()); // reads, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const t = transport(`http://127.0.0.1:${port}/v1/logs`);
    const timedOut = await t.send(body, 200);
    expect(timedOut.status).toBe('retryable');
    expect((timedOut as { error: Error }).error.message).toBe('Request timed out');
    t.shutdown();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    // The port is free now: nothing listens there.
    const refused = await transport(`http://127.0.0.1:${port}/v1/logs`).send(body, 2000);
    expect(refused.status).toBe('retryable');
    expect((refused as { error: NodeJS.ErrnoException }).error.code).toBe('ECONNREFUSED');

    const h2 = await rawServer(() => Buffer.from([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]));
    const wrong = await transport(h2.url).send(body, 2000);
    expect(wrong.status).toBe('failure');
    expect((wrong as { error: Error }).error.message).toMatch(/Parse Error: Expected HTTP\//);
    await h2.close();
  });

  it('refuses header values with line breaks (no request is sent)', async () => {
    const srv = await server((_req, res) => res.end());
    const t = transport(srv.url, { 'X-Bad': 'a\r\nInjected: yes' });
    try {
      const r = await t.send(body, 2000);
      expect(r.status).toBe('failure');
      expect((r as { error: Error }).error.message).toMatch(/Invalid header "X-Bad"/);
      const wide = await transport(srv.url, { 'X-Wide': 'caf\u00e9 \u2713' }).send(body, 2000);
      expect((wide as { error: Error }).error.message).toMatch(/Invalid header "X-Wide"/);
      expect(srv.seen).toHaveLength(0);
    } finally {
      await srv.close();
    }
  });
});

describe('withRetries', () => {
  const scripted = (answers: ExportResponse[]): IExporterTransport & { calls: number } => {
    const t = {
      calls: 0,
      send: async () => answers[Math.min(t.calls++, answers.length - 1)],
      shutdown: () => undefined,
    };
    return t;
  };

  it('tries again what is retryable, after the server’s Retry-After', async () => {
    const t = scripted([
      { status: 'retryable', retryInMillis: 10 },
      { status: 'retryable', retryInMillis: 10 },
      { status: 'success' },
    ]);
    expect((await withRetries(t).send(body, 5000)).status).toBe('success');
    expect(t.calls).toBe(3);
  });

  it('stops at the deadline, and never retries a failure', async () => {
    const late = scripted([{ status: 'retryable', retryInMillis: 10_000 }]);
    const started = Date.now();
    expect((await withRetries(late).send(body, 500)).status).toBe('retryable');
    expect(late.calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000); // it did not wait the 10 s it was told to
    const failing = scripted([{ status: 'failure', error: new Error('no') }]);
    expect((await withRetries(failing).send(body, 5000)).status).toBe('failure');
    expect(failing.calls).toBe(1);
  });
});
