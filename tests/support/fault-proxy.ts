import net from 'node:net';

/**
 * A TCP proxy that plays a bad network between the collector and ClickHouse:
 *  - `pass`:      forwards as is;
 *  - `slow`:      holds every chunk `delayMs` before forwarding it (a congested link);
 *  - `blackhole`: accepts connections and forwards nothing (a partition: requests time out);
 *  - `cut`:       resets every open connection and every new one (a partition that says so).
 */
export type FaultMode = 'pass' | 'slow' | 'blackhole' | 'cut';

export class FaultProxy {
  mode: FaultMode = 'pass';
  delayMs = 300;
  /** Connections the proxy reset or swallowed, for the test's report. */
  faults = 0;
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  }

  /** Switches mode; `cut` also resets what is open now. */
  set(mode: FaultMode): void {
    this.mode = mode;
    if (mode === 'cut' || mode === 'blackhole') {
      for (const s of this.sockets) s.resetAndDestroy();
      this.faults += this.sockets.size;
      this.sockets.clear();
    }
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    if (this.mode === 'cut') {
      this.faults++;
      client.resetAndDestroy();
      return;
    }
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    if (this.mode === 'blackhole') {
      this.faults++;
      client.resume(); // read and drop
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (this.mode === 'blackhole') return;
        if (this.mode !== 'slow') return void to.write(chunk);
        from.pause();
        setTimeout(() => {
          to.write(chunk);
          from.resume();
        }, this.delayMs);
      });
    forward(client, upstream);
    forward(upstream, client);
  }
}
