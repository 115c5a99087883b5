import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LocalClickHouse, freePort } from './local-clickhouse';

// The private server's ports (local-clickhouse.ts): a port picked for a server is one no
// outgoing connection can hold meanwhile, and a server given a taken port says so.

const listen = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

describe('ports of a private ClickHouse server', () => {
  it('a free port is one a server can listen on, below the kernel’s ephemeral ports', async () => {
    const ephemeralStart = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    const ports = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(ephemeralStart);
    }
    const server = await listen(ports[0]);
    server.close();
  });

  it('a port is handed out once: ports chosen together and used later do not collide', async () => {
    // 400 random picks from the ~12 000 ports below the ephemeral range repeat one almost
    // surely (birthday bound); a cluster chooses all its servers' ports before starting any.
    const ports = new Set<number>();
    for (let i = 0; i < 400; i++) ports.add(await freePort());
    expect(ports.size).toBe(400);
  });

  it('a server given a port that is taken fails at start, naming the address in use', async () => {
    const taken = await listen(await freePort());
    const port = (taken.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-port-taken-'));
    try {
      await expect(
        LocalClickHouse.start({ dir, httpPort: port, tcpPort: await freePort(), startTimeoutMs: 30_000 }),
      ).rejects.toThrow(`127.0.0.1:${port} is already in use`);
      // Checked before the server starts: nothing else answering on the port is taken for it.
      expect(existsSync(path.join(dir, 'config.xml'))).toBe(false);
    } finally {
      taken.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});
