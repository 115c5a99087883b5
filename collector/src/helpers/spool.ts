import { promises as fs, constants as fsConstants, readFileSync } from 'node:fs';
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
 *
 * A batch ClickHouse keeps refusing for what it holds (a damaged file, a column changed by
 * hand: see replayer.ts) is set aside in `set-aside/`, with its error in a `.error` file
 * beside it, so that the batches behind it go on. Set-aside batches still count against
 * the spool's size, and are tried again when a collector starts on the folder or reloads
 * its configuration (requeueSetAside).
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

/** A second collector on a spool another one uses (it would replay and delete that one's batches). */
export class SpoolInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpoolInUseError';
  }
}

/** Spool folders this process holds (a second collector in the same process is refused too). */
const heldHere = new Set<string>();

export class Spool implements Component {
  private entries: SpoolEntry[] = [];
  private size = 0;
  /** Batches in `set-aside/` and their bytes (counted against maxBytes too). */
  private setAsideCount = 0;
  private setAsideSize = 0;
  private nextSeq = 1;
  /** Set when a batch did not fit; cleared when replay frees space. Drives /readyz. */
  full = false;
  /** Set-aside batches start() put back in the queue. */
  requeuedAtStart = 0;
  private opened = false;
  private lockFile: string | undefined;

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** Reads what an earlier run left (replayed first). */
  async start(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    try {
      await fs.mkdir(this.dir, { recursive: true });
      await this.lock();
    } catch (err) {
      this.opened = false;
      throw err;
    }
    this.requeuedAtStart = (await this.moveBack()).length;
    for (const name of await fs.readdir(this.dir)) {
      if (name.endsWith('.tmp')) {
        await fs.rm(path.join(this.dir, name), { force: true });
        continue;
      }
      const entry = await this.entryOf(name);
      if (!entry) continue;
      this.entries.push(entry);
      this.size += entry.bytes;
    }
    this.entries.sort((a, b) => a.seq - b.seq);
    this.nextSeq = (this.entries.at(-1)?.seq ?? 0) + 1;
  }

  /** The entry of a batch file in the spool's folder (undefined: not one). */
  private async entryOf(name: string): Promise<SpoolEntry | undefined> {
    const m = ENTRY.exec(name);
    if (!m) return undefined;
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
    return {
      seq: Number(m[1]),
      table: m[2],
      file,
      bytes: size,
      ...(batch ? { batch } : {}),
      patternIds: m[7] === '2',
    };
  }

  get bytes(): number {
    return this.size;
  }

  /** Batches set aside (and their bytes) since they were last tried. */
  get setAside(): { batches: number; bytes: number } {
    return { batches: this.setAsideCount, bytes: this.setAsideSize };
  }

  private get setAsideDir(): string {
    return path.join(this.dir, 'set-aside');
  }

  /**
   * Moves a batch ClickHouse refuses out of the queue into `set-aside/`, with `reason` in a
   * `.error` file beside it; returns the batch's new path. The batches behind it go on.
   */
  async setAsideEntry(entry: SpoolEntry, reason: string): Promise<string> {
    await fs.mkdir(this.setAsideDir, { recursive: true });
    const file = path.join(this.setAsideDir, path.basename(entry.file));
    await fs.writeFile(`${file}.error`, `${new Date().toISOString()} ${reason}\n`);
    await fs.rename(entry.file, file);
    await syncDir(this.setAsideDir);
    await syncDir(this.dir);
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    this.size -= entry.bytes;
    this.setAsideCount++;
    this.setAsideSize += entry.bytes;
    return file;
  }

  /**
   * Puts the set-aside batches back in the queue, in their places (oldest first), to be
   * tried again (after the table was fixed); returns how many.
   */
  async requeueSetAside(): Promise<number> {
    const moved = await this.moveBack();
    if (moved.length === 0) return 0;
    for (const name of moved) {
      const entry = await this.entryOf(name);
      if (entry) this.entries.push(entry);
    }
    this.entries.sort((a, b) => a.seq - b.seq);
    this.setAsideCount = 0;
    this.size += this.setAsideSize;
    this.setAsideSize = 0;
    return moved.length;
  }

  /** Moves every set-aside batch back into the spool's folder; returns their names. */
  private async moveBack(): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.setAsideDir);
    } catch {
      return [];
    }
    const moved: string[] = [];
    for (const name of names) {
      const from = path.join(this.setAsideDir, name);
      if (!ENTRY.test(name)) {
        if (name.endsWith('.error')) await fs.rm(from, { force: true });
        continue;
      }
      await fs.rename(from, path.join(this.dir, name));
      moved.push(name);
    }
    if (moved.length > 0) await syncDir(this.dir);
    return moved;
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
    if (this.size + this.setAsideSize + data.length > this.maxBytes) {
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

  /** Lets the spool go (every write is closed and synced when append() resolves). */
  async shutdown(): Promise<void> {
    if (!this.lockFile) return;
    heldHere.delete(this.lockFile);
    try {
      const owner = JSON.parse(await fs.readFile(this.lockFile, 'utf8')) as { pid?: number };
      if (owner.pid === process.pid) await fs.rm(this.lockFile, { force: true });
    } catch {
      // gone or unreadable: nothing of ours to remove
    }
    this.lockFile = undefined;
  }

  /**
   * One collector per spool. Two on one folder (one DISTLOG_HOME for both) would each
   * replay and delete the other's batches, and delete its half-written ones at start.
   * `spool.lock` names the owner by pid and, on Linux, its start time, so that a lock left
   * by a process that died is taken over even where its pid was given to another process
   * (a container restarted: the collector is pid 1 again).
   */
  private async lock(): Promise<void> {
    const file = path.join(this.dir, 'spool.lock');
    const inUse = (by: string) =>
      new SpoolInUseError(
        `${by} uses the spool in ${this.dir}: give each collector its own DISTLOG_HOME (--home) or spool.dir`,
      );
    if (heldHere.has(file)) throw inUse('another collector in this process');
    try {
      const owner = JSON.parse(await fs.readFile(file, 'utf8')) as { pid?: number; identity?: string };
      if (
        typeof owner.pid === 'number' &&
        owner.pid !== process.pid &&
        owner.identity !== undefined &&
        processIdentity(owner.pid) === owner.identity
      )
        throw inUse(`another collector (pid ${owner.pid})`);
    } catch (err) {
      if (err instanceof SpoolInUseError) throw err;
      // no lock, or a damaged one: take it
    }
    const tmp = `${file}.${process.pid}`;
    await fs.writeFile(tmp, JSON.stringify({ pid: process.pid, identity: processIdentity(process.pid) }));
    await fs.rename(tmp, file);
    heldHere.add(file);
    this.lockFile = file;
  }

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

/**
 * What tells a running process from a later one with the same pid: its start time (field 22
 * of /proc/PID/stat, after the command's name) on Linux; elsewhere the pid while it runs.
 * Undefined when no such process runs.
 */
export function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return `${pid}@${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    if (HAS_PROC) return undefined;
    try {
      process.kill(pid, 0);
      return String(pid);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM' ? String(pid) : undefined;
    }
  }
}

const HAS_PROC = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
