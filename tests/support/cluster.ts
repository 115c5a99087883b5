import { ChildProcess, spawn } from 'node:child_process';
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
import { LocalClickHouse, freePort } from '@distlog/collector';

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
  shards: LocalClickHouse[];
  stop(): Promise<void>;
}

export async function startLocalCluster(shardCount = 2): Promise<LocalCluster> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-cluster-'));
  const zookeeper = await startZooKeeper(path.join(dir, 'zookeeper'));
  const tcpPorts = await Promise.all(Array.from({ length: shardCount }, () => freePort()));
  const shardXml = tcpPorts
    .map((port) => `<shard><replica><host>127.0.0.1</host><port>${port}</port></replica></shard>`)
    .join('');
  const extraConfig = `
  <remote_servers><${CLUSTER}>${shardXml}</${CLUSTER}></remote_servers>
  <zookeeper><node><host>127.0.0.1</host><port>${zookeeper.port}</port></node></zookeeper>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>`;
  const shards: LocalClickHouse[] = [];
  const stop = async () => {
    await Promise.all(shards.map((s) => s.stop()));
    await zookeeper.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const [i, tcpPort] of tcpPorts.entries())
      shards.push(
        await LocalClickHouse.start({ dir: path.join(dir, `shard${i + 1}`), tcpPort, extraConfig }),
      );
  } catch (err) {
    await stop();
    throw err;
  }
  return { name: CLUSTER, shards, stop };
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
