import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfigFile } from '@distlog/collector/config';

/**
 * deploy/docker-compose.yml cannot run here (no Docker engine): its structure is checked —
 * the services, pinned images, ports, health checks, and that every file it mounts exists.
 */
const DEPLOY = path.resolve(__dirname, '../../deploy');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(path.join(DEPLOY, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};

describe('deploy/docker-compose.yml', () => {
  it('wires a current ClickHouse, the collector, the query UI and Grafana, with pinned images and health checks', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['clickhouse', 'collector', 'grafana', 'query-ui']);
    expect(compose.services.clickhouse.image).toMatch(/^clickhouse\/clickhouse-server:2\d\.\d+$/);
    expect(compose.services.grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    expect(compose.services.grafana.environment?.GF_INSTALL_PLUGINS).toBe('grafana-clickhouse-datasource');
    for (const [name, service] of Object.entries(compose.services)) {
      expect({ name, health: Array.isArray(service.healthcheck?.test) }).toEqual({ name, health: true });
    }
    expect(compose.services.collector.ports).toEqual(['4317:4317', '4318:4318']);
    expect(compose.services['query-ui'].ports).toEqual(['4320:4320']);
    expect(compose.services.collector.environment?.CLICKHOUSE_URL).toBe('http://clickhouse:8123');
    expect(compose.services['query-ui'].environment?.DISTLOG_COLLECTOR_URL).toBe('http://collector:4318');
    expect(compose.services.collector.depends_on?.clickhouse.condition).toBe('service_healthy');
  });

  it('mounts only files that exist in the repository, and builds from an existing Dockerfile', () => {
    for (const service of Object.values(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (!source.startsWith('.')) {
          expect(Object.keys(compose.volumes)).toContain(source);
          continue;
        }
        expect({ volume, exists: existsSync(path.resolve(DEPLOY, source)) }).toEqual({
          volume,
          exists: true,
        });
      }
      if (service.build)
        expect(existsSync(path.resolve(DEPLOY, service.build.context, service.build.dockerfile))).toBe(true);
    }
  });

  it('gives the collector a configuration that passes validation', () => {
    const config = loadConfigFile(path.join(DEPLOY, 'collector.yaml'), {
      CLICKHOUSE_URL: 'http://clickhouse:8123',
      CLICKHOUSE_PASSWORD: 'secret',
    });
    expect(config.receivers.grpc).toEqual({ host: '0.0.0.0', port: 4317 });
    expect(config.clickhouse).toMatchObject({
      url: 'http://clickhouse:8123',
      username: 'default',
      password: 'secret',
    });
    expect(config.tiers.map((t) => [t.name, t.retentionDays])).toEqual([
      ['logs', 30],
      ['debug', 3],
      ['longterm', 400],
    ]);
  });

  it('provisions Grafana with the ClickHouse plugin and the dashboards folder it mounts', () => {
    const ds = parse(
      readFileSync(path.join(DEPLOY, 'grafana/provisioning/datasources/clickhouse.yaml'), 'utf8'),
    );
    expect(ds.datasources[0]).toMatchObject({
      type: 'grafana-clickhouse-datasource',
      uid: 'distlog-clickhouse',
    });
    const providers = parse(
      readFileSync(path.join(DEPLOY, 'grafana/provisioning/dashboards/distlog.yaml'), 'utf8'),
    );
    const mounted = compose.services.grafana
      .volumes!.find((v) => v.startsWith('./grafana/dashboards:'))!
      .split(':')[1];
    expect(providers.providers[0].options.path).toBe(mounted);
  });
});

describe('deploy/docker-compose.scale.yml', () => {
  const scale = parse(readFileSync(path.join(DEPLOY, 'docker-compose.scale.yml'), 'utf8'), {
    merge: true,
  }) as {
    services: Record<string, Service & { command?: string[] }>;
    volumes: Record<string, unknown>;
  };
  const services = scale.services;
  const names = Object.keys(services);
  const collectors = names.filter((n) => /^collector-\d$/.test(n));
  const queryServers = names.filter((n) => /^query-ui-\d$/.test(n));
  const clickhouses = names.filter((n) => /^ch-s\dr\d$/.test(n));
  const nginx = readFileSync(path.join(DEPLOY, 'scale/nginx.conf'), 'utf8');
  const upstream = (name: string) =>
    [
      ...(new RegExp(`upstream ${name} \\{([^}]*)\\}`).exec(nginx)?.[1] ?? '').matchAll(
        /server ([\w-]+):(\d+)/g,
      ),
    ].map((m) => `${m[1]}:${m[2]}`);

  it('runs three collectors and two query servers behind one load balancer for HTTP and gRPC', () => {
    expect(collectors).toEqual(['collector-1', 'collector-2', 'collector-3']);
    expect(queryServers).toEqual(['query-ui-1', 'query-ui-2']);
    // Only the load balancer (and Grafana) publish ports.
    expect(services.lb.ports).toEqual(['4317:4317', '4318:4318', '4320:4320']);
    for (const name of [...collectors, ...queryServers])
      expect({ name, ports: services[name].ports }).toEqual({ name, ports: undefined });
    expect(upstream('otlp_http')).toEqual(collectors.map((c) => `${c}:4318`));
    expect(upstream('otlp_grpc')).toEqual(collectors.map((c) => `${c}:4317`));
    expect(upstream('query_servers')).toEqual(queryServers.map((q) => `${q}:4320`));
    expect(nginx).toMatch(/listen 4317 http2;[\s\S]*grpc_pass grpc:\/\/otlp_grpc;/);
    expect(nginx).toMatch(/listen 4318;[\s\S]*proxy_pass http:\/\/otlp_http;/);
    // Retrying a request on another collector is safe (request ids): POST included.
    expect(nginx).toMatch(/proxy_next_upstream [^;]*non_idempotent;/);
    // Query servers send level changes through the load balancer and trust its X-Forwarded-For.
    for (const q of queryServers)
      expect(services[q].environment).toMatchObject({
        DISTLOG_COLLECTOR_URL: 'http://lb:4318',
        DISTLOG_UI_TRUST_PROXY: 'lb',
      });
  });

  it('runs a ClickHouse cluster of 2 shards × 2 replicas with its keeper, the collectors spread over it', () => {
    expect(clickhouses).toEqual(['ch-s1r1', 'ch-s1r2', 'ch-s2r1', 'ch-s2r2']);
    expect(services.keeper.image).toMatch(/^clickhouse\/clickhouse-keeper:2\d\.\d+$/);
    const xml = readFileSync(path.join(DEPLOY, 'scale/clickhouse-cluster.xml'), 'utf8');
    const shards = [...xml.matchAll(/<shard>([\s\S]*?)<\/shard>/g)].map((m) =>
      [...m[1].matchAll(/<host>([\w-]+)<\/host>/g)].map((h) => h[1]),
    );
    expect(shards).toEqual([
      ['ch-s1r1', 'ch-s1r2'],
      ['ch-s2r1', 'ch-s2r2'],
    ]);
    expect(xml).toContain('<internal_replication>true</internal_replication>');
    expect(xml).toMatch(/<zookeeper>\s*<node><host>keeper<\/host><port>9181<\/port><\/node>/);
    expect(readFileSync(path.join(DEPLOY, 'scale/keeper.xml'), 'utf8')).toContain(
      '<tcp_port>9181</tcp_port>',
    );
    // Each server's place in the cluster comes from its environment, and matches remote_servers.
    for (const name of clickhouses) {
      const [, shard] = /^ch-s(\d)r\d$/.exec(name)!;
      expect(services[name].environment).toMatchObject({ CLICKHOUSE_SHARD: shard, CLICKHOUSE_REPLICA: name });
      expect(services[name].volumes).toContain(
        './scale/clickhouse-cluster.xml:/etc/clickhouse-server/config.d/cluster.xml:ro',
      );
    }
    // The schema is applied once, on the cluster, before collectors and query servers start.
    expect(services.schema.command).toEqual(['schema', 'apply', '--config', '/etc/distlog/collector.yaml']);
    for (const name of [...collectors, ...queryServers])
      expect(services[name].depends_on?.schema.condition).toBe('service_completed_successfully');
    const entries = collectors.map((c) => services[c].environment?.CLICKHOUSE_URL);
    expect(new Set(entries).size).toBe(3);
    for (const url of entries) expect(clickhouses).toContain(new URL(url!).hostname);
    for (const c of collectors)
      expect(services[c].environment).toMatchObject({
        CLICKHOUSE_CLUSTER: 'distlog',
        CLICKHOUSE_REPLICATED: 'true',
        // Query servers reach each collector's live tail by this address.
        DISTLOG_ADVERTISE_URL: `http://${c}:4318`,
      });
  });

  it('gives every collector its own spool volume, mounts only existing files, and health-checks every long-running service', () => {
    const spools = collectors.map(
      (c) => services[c].volumes!.find((v) => v.endsWith(':/var/lib/distlog'))!.split(':')[0],
    );
    expect(new Set(spools).size).toBe(3);
    for (const [name, service] of Object.entries(services)) {
      if (name !== 'schema')
        expect({ name, health: Array.isArray(service.healthcheck?.test) }).toEqual({ name, health: true });
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0];
        if (source.startsWith('.'))
          expect({ volume, exists: existsSync(path.resolve(DEPLOY, source)) }).toEqual({
            volume,
            exists: true,
          });
        else expect(Object.keys(scale.volumes)).toContain(source);
      }
    }
    // The shared configuration reads the cluster settings the compose file gives it.
    const config = loadConfigFile(path.join(DEPLOY, 'collector.yaml'), {
      CLICKHOUSE_URL: 'http://ch-s1r1:8123',
      ...services['collector-1'].environment,
    });
    expect(config.clickhouse).toMatchObject({ cluster: 'distlog', replicated: true, username: 'distlog' });
  });
});
