import type { CollectorConfig } from '@distlog/collector/config';
import { ClickHouse, applySchema, tierStatus } from '@distlog/collector/storage';
import { commonSettings, loadSettingsConfig, UsageError } from '../settings';
import { openClickHouseTarget } from '../clickhouse-target';
import type { Command } from '../command';
import { say, parse } from '../command';

async function withSchemaTarget<T>(
  args: string[],
  usage: string,
  fn: (ch: ClickHouse, config: CollectorConfig) => Promise<T>,
): Promise<T> {
  const settings = commonSettings(parse(args, usage).values);
  const target = await openClickHouseTarget(settings, loadSettingsConfig(settings), say);
  try {
    const ch = await ClickHouse.connect(target.config.clickhouse);
    try {
      return await fn(ch, target.config);
    } finally {
      await ch.close();
    }
  } finally {
    await target.stop();
  }
}

export const schema: Command = {
  summary: 'apply the schema migrations, or show each tier (`distlog schema apply|status`)',
  usage:
    'distlog schema apply|status [--config FILE] [--clickhouse-url URL] [--database NAME] [--cluster NAME [--replicated]] [--home DIR] [--json]',
  async run(args) {
    const json = args.includes('--json');
    const rest = args.filter((a) => a !== '--json');
    const [sub] = parse(rest, this.usage).positionals;
    if (sub === 'apply') {
      return withSchemaTarget(rest.slice(1), this.usage, async (ch, config) => {
        const steps = await applySchema(ch, config.tiers);
        say(
          `ClickHouse ${ch.features.version} at ${ch.url}, database ${ch.database}${await clusterSummary(ch)}`,
        );
        say(
          steps.length === 0
            ? 'schema is up to date'
            : steps.map((s) => `applied ${s.migration} to ${s.target}`).join('\n'),
        );
        return 0;
      });
    }
    if (sub === 'status') {
      return withSchemaTarget(rest.slice(1), this.usage, async (ch, config) => {
        const status = await tierStatus(ch, config.tiers);
        if (json) {
          for (const s of status) process.stdout.write(JSON.stringify(s) + '\n');
          return 0;
        }
        const rows = status.map((s) => [
          s.tier,
          `${ch.database}.${s.table}`,
          `${s.retentionDays} d`,
          !s.exists ? 'MISSING' : s.missingColumns.length > 0 ? `${s.rows} CHANGED` : String(s.rows),
          formatBytes(s.bytesOnDisk),
          s.oldestPartition ?? '-',
          s.newestPartition ?? '-',
        ]);
        const header = ['tier', 'table', 'retention', 'rows', 'size', 'oldest partition', 'newest partition'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
        const line = (cells: string[]) =>
          cells
            .map((c, i) => c.padEnd(widths[i]))
            .join('  ')
            .trimEnd();
        process.stdout.write(
          [
            `ClickHouse ${ch.features.version} at ${ch.url}${await clusterSummary(ch)}${ch.features.ttl ? ' (TTL declared too)' : ' (no TTL on this server: retention drops partitions)'}`,
            line(header),
            ...rows.map(line),
          ].join('\n') + '\n',
        );
        const missing = status.filter((s) => !s.exists);
        const changed = status.filter((s) => s.missingColumns.length > 0);
        for (const s of changed)
          say(
            `${ch.database}.${s.table} lacks columns the collector writes: ${s.missingColumns.join(', ')} ` +
              '(dropped or renamed by hand?): every insert into it is refused and set aside. Add them back ' +
              `(\`SHOW CREATE TABLE\` of another tier has their types), then reload the collectors (SIGHUP) to store what was set aside`,
          );
        if (missing.length > 0)
          say(
            `${missing.map((s) => `${ch.database}.${s.table}`).join(', ')} missing (dropped?): ` +
              '`distlog schema apply` makes it again, with its indexes and views (a running collector does when it next stores into it)',
          );
        return missing.length + changed.length > 0 ? 1 : 0;
      });
    }
    throw new UsageError(`unknown schema command ${JSON.stringify(sub ?? '')}\nusage: ${this.usage}`);
  },
};

async function clusterSummary(ch: ClickHouse): Promise<string> {
  if (!ch.cluster) return '';
  const shards = await ch.shards();
  const where = shards.map((s) => `${s.host}:${s.port}`).join(', ');
  return `, cluster ${ch.cluster} (${shards.length} shards: ${where}${ch.replicated ? '; replicated tables' : ''})`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
