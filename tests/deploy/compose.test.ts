import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfigFile } from '@distlog/collector';

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
