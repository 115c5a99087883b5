import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { LocalClickHouse, PortTakenError, freePort } from '@distlog/collector/storage';

/**
 * A ClickHouse cluster on this machine for the cluster-mode tests: one ZooKeeper
 * (Debian's `zookeeper` package; ClickHouse 18.16 runs `ON CLUSTER` DDL through it)
 * and N ClickHouse servers, each one shard of the cluster `distlog_shards`, with
 * their own ports and data folders and one shared `remote_servers` definition.
 */
export const CLUSTER = 'distlog_shards';
const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';

export interface LocalCluster {
  name: string;
  /** Every server, shard by shard (with replicas: shard 1's replicas first). */
  shards: LocalClickHouse[];
  stop(): Promise<void>;
}

/**
 * `shardCount` shards of `replicas` servers each. With more than one replica a shard has
 * `internal_replication` on, and every server the macros {shard} and {replica} and an
 * interserver HTTP port, as replicated tables need.
 */
export async function startLocalCluster(shardCount = 2, replicas = 1): Promise<LocalCluster> {
  // Every server's ports are chosen before the first starts, and the cluster definition
  // names them all; one taken meanwhile (another test's process, on two jest workers) is
  // found only when its server starts. Start over with new ports then, as LocalClickHouse
  // does for one server.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(shardCount, replicas);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= 3) throw err;
    }
  }
}

async function startClusterOnce(shardCount: number, replicas: number): Promise<LocalCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-cluster-'));
  const zookeeper = await startZooKeeper(path.join(dir, 'zookeeper'));
  const servers: Array<{ shard: number; replica: number; tcpPort: number; interserverPort: number }> = [];
  for (let shard = 1; shard <= shardCount; shard++)
    for (let replica = 1; replica <= replicas; replica++)
      servers.push({ shard, replica, tcpPort: await freePort(), interserverPort: await freePort() });
  const shardXml = Array.from({ length: shardCount }, (_, i) => {
    const members = servers
      .filter((s) => s.shard === i + 1)
      .map((s) => `<replica><host>127.0.0.1</host><port>${s.tcpPort}</port></replica>`)
      .join('');
    return `<shard>${replicas > 1 ? '<internal_replication>true</internal_replication>' : ''}${members}</shard>`;
  }).join('');
  const common = `
  <remote_servers><${CLUSTER}>${shardXml}</${CLUSTER}></remote_servers>
  <zookeeper><node><host>127.0.0.1</host><port>${zookeeper.port}</port></node></zookeeper>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>`;
  const started: LocalClickHouse[] = [];
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
    await zookeeper.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const s of servers) {
      const own =
        replicas > 1
          ? `<macros><shard>${s.shard}</shard><replica>r${s.replica}</replica></macros>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <interserver_http_port>${s.interserverPort}</interserver_http_port>`
          : '';
      started.push(
        await LocalClickHouse.start({
          dir: path.join(dir, `shard${s.shard}-replica${s.replica}`),
          tcpPort: s.tcpPort,
          extraConfig: common + own,
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: CLUSTER, shards: started, stop };
}

interface ZooKeeper {
  port: number;
  stop(): Promise<void>;
}

/** A standalone ZooKeeper on loopback with its data in `dir`, serving before this resolves. */
async function startZooKeeper(dir: string): Promise<ZooKeeper> {
  if (!existsSync(ZOOKEEPER_JAR))
    throw new Error(
      `cluster tests need ZooKeeper (${ZOOKEEPER_JAR}): \`npm run setup\` installs it as root; ` +
        'else `sudo apt-get install -y zookeeper`',
    );
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'zoo.cfg');
  writeFileSync(
    config,
    [
      'tickTime=2000',
      `dataDir=${path.join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=srvr',
    ].join('\n') + '\n',
  );
  const out = openSync(path.join(dir, 'zookeeper.log'), 'a');
  const child: ChildProcess = spawn(
    'java',
    [
      '-cp',
      `/etc/zookeeper/conf:${ZOOKEEPER_JAR}`,
      'org.apache.zookeeper.server.quorum.QuorumPeerMain',
      config,
    ],
    { stdio: ['ignore', out, out] },
  );
  closeSync(out);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(
        `ZooKeeper exited with ${child.exitCode}: ${readFileSync(path.join(dir, 'zookeeper.log'), 'utf8')}`,
      );
    // `srvr` answers with the mode only once the server serves sessions. ClickHouse 18.16
    // started before that keeps a broken DDL worker that crashes the server at the first
    // ON CLUSTER statement.
    if (/Mode: standalone/.test(await fourLetterWord(port, 'srvr'))) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(word));
    let answer = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (d) => (answer += d));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(''));
  });
}
