import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { UnavailableError } from '../errors';
import type { BatchInfo } from '../sinks/clickhouse/batch-id';
import type { Component } from '../pipeline/component';

/**
 * The on-disk spool: batches that were acknowledged to clients but could not be
 * inserted yet. One file per batch, `<sequence>.<table>.<batch id>-<rows>-<min s>-<max s>.rowbinary2`
 * (`.rowbinary`: written before rows carried PatternId; replayed with the columns of then)
 * (the batch's id and time range: replay first checks whether it is stored), written to a
 * temporary name, fsync'd and renamed before the batch counts as spooled — so after
 * a crash every acknowledged batch is either in ClickHouse or here, whole. Replayed
 * oldest first.
 */
export interface SpoolEntry {
  seq: number;
  table: string;
  file: string;
  bytes: number;
  /** Absent for files spooled before batches had ids (replayed without a check, without BatchId). */
  batch?: BatchInfo;
  /** The rows carry PatternId (`.rowbinary2`); files spooled before (`.rowbinary`) do not. */
  patternIds: boolean;
}

const ENTRY = /^(\d{12})\.([A-Za-z_][A-Za-z0-9_]*)(?:\.([0-9a-f]{16})-(\d+)-(\d+)-(\d+))?\.rowbinary(2?)$/;

export class SpoolFullError extends UnavailableError {
  constructor(maxBytes: number) {
    super(
      `the collector's spool is full (${maxBytes} bytes) while ClickHouse is unavailable; retry later`,
      5,
    );
  }
}

export class Spool implements Component {
  private entries: SpoolEntry[] = [];
  private size = 0;
  private nextSeq = 1;
  /** Set when a batch did not fit; cleared when replay frees space. Drives /readyz. */
  full = false;
  private opened = false;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** Reads what an earlier run left (replayed first). */
  async start(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    await fs.mkdir(this.dir, { recursive: true });
    for (const name of await fs.readdir(this.dir)) {
      if (name.endsWith('.tmp')) {
        await fs.rm(path.join(this.dir, name), { force: true });
        continue;
      }
      const m = ENTRY.exec(name);
      if (!m) continue;
      const file = path.join(this.dir, name);
      const { size } = await fs.stat(file);
      const batch = m[3]
        ? {
            id: BigInt(`0x${m[3]}`),
            rows: Number(m[4]),
            minSeconds: Number(m[5]),
            maxSeconds: Number(m[6]),
          }
        : undefined;
      this.entries.push({
        seq: Number(m[1]),
        table: m[2],
        file,
        bytes: size,
        ...(batch ? { batch } : {}),
        patternIds: m[7] === '2',
      });
      this.size += size;
    }
    this.entries.sort((a, b) => a.seq - b.seq);
    this.nextSeq = (this.entries.at(-1)?.seq ?? 0) + 1;
  }

  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.length;
  }

  isEmpty(): boolean {
    return this.entries.length === 0;
  }

  oldest(): SpoolEntry | undefined {
    return this.entries[0];
  }

  /** Writes a batch durably; throws SpoolFullError (retryable) when it does not fit. */
  async append(table: string, data: Buffer, batch: BatchInfo): Promise<void> {
    if (this.size + data.length > this.maxBytes) {
      this.full = true;
      throw new SpoolFullError(this.maxBytes);
    }
    const seq = this.nextSeq++;
    const meta = `${batch.id.toString(16).padStart(16, '0')}-${batch.rows}-${batch.minSeconds}-${batch.maxSeconds}`;
    const name = `${String(seq).padStart(12, '0')}.${table}.${meta}.rowbinary2`;
    const file = path.join(this.dir, name);
    const tmp = file + '.tmp';
    this.size += data.length;
    try {
      const handle = await fs.open(tmp, fsConstants.O_CREAT | fsConstants.O_WRONLY | fsConstants.O_TRUNC);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(tmp, file);
      await syncDir(this.dir);
    } catch (err) {
      this.size -= data.length;
      await fs.rm(tmp, { force: true });
      throw new UnavailableError(`could not write the spool in ${this.dir}: ${(err as Error).message}`);
    }
    this.entries.push({ seq, table, file, bytes: data.length, batch, patternIds: true });
  }

  /** Nothing to release: every write is closed and synced when append() resolves. */
  async shutdown(): Promise<void> {}

  read(entry: SpoolEntry): Promise<Buffer> {
    return fs.readFile(entry.file);
  }

  async remove(entry: SpoolEntry): Promise<void> {
    await fs.rm(entry.file, { force: true });
    const i = this.entries.indexOf(entry);
    if (i >= 0) {
      this.entries.splice(i, 1);
      this.size -= entry.bytes;
      this.full = false;
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
