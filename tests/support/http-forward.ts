import http from 'node:http';

/** Passes a request on to `target` (streamed both ways: event streams pass through). */
export function forward(
  target: URL,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path = req.url,
  headers: http.IncomingHttpHeaders = req.headers,
): void {
  const upstream = http.request(
    { host: target.hostname, port: target.port, path, method: req.method, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}

/** Listens on a free loopback port; returns the server's origin. */
export async function listenLocal(server: http.Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Closes a server and the connections it holds. */
export async function closeServer(server: http.Server | undefined): Promise<void> {
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
}
