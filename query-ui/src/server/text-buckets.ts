import type { ClickHouse, SqlValues } from '@distlog/collector/storage';
import { intLiteral } from '@distlog/collector/storage';

/**
 * Text search on servers without data-skipping indexes (18.16): each tier has a word
 * index `<tier table>_tokens` (migration 0007: per ten minutes, the runs of [a-z0-9] of
 * the lower-cased bodies). A body that contains the search text contains, for each run
 * of the text, a word that equals it (a run with other characters on both sides in the
 * text), starts with it (other characters only before it), ends with it (only after it)
 * or contains it (the text is that run). The buckets that have such a word for every run
 * hold every match: a superset, so the search stays exact and reads only those buckets.
 */
export const BUCKET_SECONDS = 600;

export interface RunCondition {
  run: string;
  match: 'equals' | 'startsWith' | 'endsWith' | 'contains';
}

/** At most this many runs are looked up, the longest (most selective) ones. */
const MAX_RUNS = 4;

export function runConditions(text: string): RunCondition[] {
  const lowered = text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
  const out: RunCondition[] = [];
  for (const m of lowered.matchAll(/[a-z0-9]+/g)) {
    const before = m.index > 0;
    const after = m.index + m[0].length < lowered.length;
    const match = before && after ? 'equals' : before ? 'startsWith' : after ? 'endsWith' : 'contains';
    out.push({ run: m[0], match });
  }
  return out.sort((a, b) => b.run.length - a.run.length).slice(0, MAX_RUNS);
}

function condition(c: RunCondition, v: SqlValues): string {
  // Runs are [a-z0-9]+: nothing in them is special to LIKE.
  switch (c.match) {
    case 'equals':
      return `Token = ${v.str(c.run)}`;
    case 'startsWith':
      return `Token LIKE ${v.str(c.run + '%')}`;
    case 'endsWith':
      return `Token LIKE ${v.str('%' + c.run)}`;
    default:
      return `Token LIKE ${v.str('%' + c.run + '%')}`;
  }
}

/**
 * The word-index tables of the database (none on servers with skip indexes), looked up
 * once a minute: a tier added at run time joins.
 */
export class TextBuckets {
  private tables: { at: number; names: string[] } | undefined;

  constructor(private readonly ch: ClickHouse) {}

  /** Whether searches of this server use word indexes at all. */
  get applies(): boolean {
    return !this.ch.features.skipIndexes;
  }

  private async tokenTables(): Promise<string[]> {
    if (this.tables && Date.now() - this.tables.at < 60_000) return this.tables.names;
    const v = this.ch.values();
    const rows = await this.ch.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = ${v.str(this.ch.database)} AND name LIKE '%\\\\_tokens'`,
      {},
      v.params,
    );
    this.tables = { at: Date.now(), names: rows.map((r) => r.name) };
    return this.tables.names;
  }

  /**
   * The start (seconds) of every bucket in [fromMs, toMs] that may hold `text`, newest
   * first; undefined when the index cannot tell (no word in the text, no index tables).
   */
  async candidates(text: string, fromMs: number, toMs: number): Promise<number[] | undefined> {
    if (!this.applies) return undefined;
    const runs = runConditions(text);
    const tables = await this.tokenTables();
    if (runs.length === 0 || tables.length === 0) return undefined;
    const v = this.ch.values();
    // Words equal to or starting with a run are found by the table's sort key; ends-with and
    // contains read every word of the range (0.3 s for 15 M words on 18.16). Fewer runs still
    // give a superset, so those are looked up only when nothing else is there.
    const keyed = runs.filter((r) => r.match === 'equals' || r.match === 'startsWith');
    const conditions = (keyed.length > 0 ? keyed : runs).map((r) => condition(r, v));
    const from = Math.floor(fromMs / 1000 / BUCKET_SECONDS) * BUCKET_SECONDS;
    const pattern = `^(${tables.join('|')})$`;
    const rows = await this.ch.query<{ b: string }>(
      `SELECT toUInt32(Bucket) AS b FROM merge(${v.str(this.ch.database)}, ${v.str(pattern)})
       WHERE Bucket >= toDateTime(${intLiteral(from)}) AND Bucket <= toDateTime(${intLiteral(Math.floor(toMs / 1000))})
         AND (${conditions.join(' OR ')})
       GROUP BY Bucket HAVING ${conditions.map((c) => `max(${c})`).join(' AND ')}
       ORDER BY Bucket DESC`,
      {},
      v.params,
    );
    return rows.map((r) => Number(r.b));
  }
}
