import { identifier } from '../storage/sql';

/** A retention tier: one ClickHouse table whose rows are kept `retentionDays` days. */
export interface TierConfig {
  name: string;
  /** Table name; defaults to the tier name. */
  table: string;
  retentionDays: number;
}

export const DEFAULT_TIERS: readonly TierConfig[] = [{ name: 'logs', table: 'logs', retentionDays: 30 }];

const RESERVED_TABLES = ['all_logs', 'trace_index', 'volume_by_minute', 'distlog_migrations'];

export function validateTiers(tiers: readonly TierConfig[]): void {
  const names = new Set<string>();
  for (const tier of tiers) {
    identifier(tier.table, `table name of tier ${JSON.stringify(tier.name)}`);
    if (RESERVED_TABLES.includes(tier.table)) {
      throw new Error(`tier ${JSON.stringify(tier.name)}: table name ${tier.table} is reserved`);
    }
    if (names.has(tier.name)) throw new Error(`tier ${JSON.stringify(tier.name)} is defined twice`);
    names.add(tier.name);
    if (!Number.isInteger(tier.retentionDays) || tier.retentionDays < 1) {
      throw new Error(`tier ${JSON.stringify(tier.name)}: retentionDays must be a whole number of days ≥ 1`);
    }
  }
}
