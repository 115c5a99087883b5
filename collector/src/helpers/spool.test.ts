import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Spool, SpoolFullError, SpoolInUseError, processIdentity } from './spool';
import { kindOf } from '../errors';

const batch = (id: bigint, rows: number) => ({
  id,
  rows,
  minSeconds: 1_700_000_000,
  maxSeconds: 1_700_000_060,
});

describe('Spool', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-spool-unit-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps batches durably and gives them back oldest first, across a restart', async () => {
    const spool = new Spool(dir, 1 << 20);
    await spool.start();
    await spool.append('logs', Buffer.from('first'), batch(0xabcn, 3));
    await spool.append('debug', Buffer.from('second!'), batch(2n, 1));
    expect(spool.count).toBe(2);
    expect(spool.bytes).toBe(12);

    // A new process finds the same batches, in order, with their ids and columns.
    await spool.shutdown();
    const again = new Spool(dir, 1 << 20);
    await again.start();
    expect(again.count).toBe(2);
    const oldest = again.oldest()!;
    expect(oldest).toMatchObject({ table: 'logs', batch: batch(0xabcn, 3), patternIds: true, bytes: 5 });
    expect((await again.read(oldest)).toString()).toBe('first');
    await again.remove(oldest);
    expect(again.oldest()).toMatchObject({ table: 'debug', batch: batch(2n, 1) });
    expect(again.bytes).toBe(7);
    expect(batchFiles(dir)).toHaveLength(1);
    // Sequence numbers go on after the highest one found.
    await again.append('logs', Buffer.from('third'), batch(3n, 2));
    const names = batchFiles(dir).sort();
    expect(names[names.length - 1]).toMatch(/^000000000003\.logs\.0000000000000003-2-/);
  });

  it('refuses a batch that does not fit, as a retryable error, and takes batches again once space is freed', async () => {
    const spool = new Spool(dir, 10);
    await spool.start();
    await spool.append('logs', Buffer.alloc(8), batch(1n, 1));
    const refused = spool.append('logs', Buffer.alloc(8), batch(2n, 1));
    await expect(refused).rejects.toBeInstanceOf(SpoolFullError);
    expect(kindOf(await refused.catch((e: unknown) => e))).toBe('unavailable');
    expect(spool.full).toBe(true);
    expect(spool.count).toBe(1);
    await spool.remove(spool.oldest()!);
    expect(spool.full).toBe(false);
    await spool.append('logs', Buffer.alloc(8), batch(2n, 1));
    expect(spool.count).toBe(1);
  });

  it('removes half-written files, and replays files from before batch ids and pattern ids with their own columns', async () => {
    writeFileSync(path.join(dir, '000000000001.logs.rowbinary'), 'old');
    writeFileSync(path.join(dir, '000000000002.logs.00000000000000ff-4-10-20.rowbinary'), 'ids');
    writeFileSync(path.join(dir, '000000000003.logs.00000000000000fe-1-10-20.rowbinary2.tmp'), 'cut');
    writeFileSync(path.join(dir, 'notes.txt'), 'not a batch');
    const spool = new Spool(dir, 1 << 20);
    await spool.start();
    expect(spool.count).toBe(2);
    const first = spool.oldest()!;
    expect(first.batch).toBeUndefined();
    expect(first.patternIds).toBe(false);
    await spool.remove(first);
    expect(spool.oldest()).toMatchObject({ batch: { id: 0xffn, rows: 4 }, patternIds: false });
    expect(readdirSync(dir).some((n) => n.endsWith('.tmp'))).toBe(false);
    expect(readdirSync(dir)).toContain('notes.txt');
  });

  it('start() twice reads the folder once; shutdown() is safe without start', async () => {
    await new Spool(dir, 1 << 20).shutdown();
    const spool = new Spool(dir, 1 << 20);
    await spool.start();
    await spool.append('logs', Buffer.from('x'), batch(1n, 1));
    await spool.start();
    expect(spool.count).toBe(1);
    await spool.shutdown();
    await spool.shutdown();
  });

  it('is used by one collector at a time: a second one is refused, naming the first, until it lets go', async () => {
    const first = new Spool(dir, 1 << 20);
    await first.start();
    await first.append('logs', Buffer.from('mine'), batch(1n, 1));
    const second = new Spool(dir, 1 << 20);
    await expect(second.start()).rejects.toThrow(
      new SpoolInUseError(
        `another collector in this process uses the spool in ${dir}: give each collector its own DISTLOG_HOME (--home) or spool.dir`,
      ),
    );
    await first.shutdown();
    await second.start();
    expect(second.count).toBe(1);
    await second.shutdown();
  });

  it('refuses a spool another running process holds, and takes over one whose owner is gone or whose pid was reused', async () => {
    const lock = path.join(dir, 'spool.lock');
    // Another collector process, alive.
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    await new Promise((r) => other.once('spawn', r));
    try {
      writeFileSync(lock, JSON.stringify({ pid: other.pid, identity: processIdentity(other.pid!) }));
      await expect(new Spool(dir, 1 << 20).start()).rejects.toThrow(
        `another collector (pid ${other.pid}) uses the spool in ${dir}`,
      );
      // The same pid, but a process started at another time (the pid was given to it later).
      writeFileSync(lock, JSON.stringify({ pid: other.pid, identity: `${other.pid}@1` }));
      const reused = new Spool(dir, 1 << 20);
      await reused.start();
      expect(JSON.parse(readFileSync(lock, 'utf8'))).toEqual({
        pid: process.pid,
        identity: processIdentity(process.pid),
      });
      await reused.shutdown();
      expect(readdirSync(dir)).not.toContain('spool.lock');
      writeFileSync(lock, JSON.stringify({ pid: other.pid, identity: processIdentity(other.pid!) }));
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
    // Its owner died without letting go (SIGKILL): taken over.
    const after = new Spool(dir, 1 << 20);
    await after.start();
    await after.shutdown();
  });

  it('sets a batch aside (with its error beside it) and puts it back in its place when asked or at the next start', async () => {
    const spool = new Spool(dir, 100);
    await spool.start();
    await spool.append('logs', Buffer.from('refused!'), batch(1n, 2));
    await spool.append('logs', Buffer.from('fine'), batch(2n, 1));
    const refused = spool.oldest()!;
    const moved = await spool.setAsideEntry(refused, 'logs: TYPE_MISMATCH');
    expect(path.dirname(moved)).toBe(path.join(dir, 'set-aside'));
    expect(readFileSync(`${moved}.error`, 'utf8')).toMatch(/TYPE_MISMATCH/);
    expect(spool.oldest()).toMatchObject({ batch: batch(2n, 1) });
    expect(spool.count).toBe(1);
    expect(spool.bytes).toBe(4);
    expect(spool.setAside).toEqual({ batches: 1, bytes: 8 });
    // Set-aside bytes still count against the spool's size.
    await expect(spool.append('logs', Buffer.alloc(90), batch(3n, 1))).rejects.toBeInstanceOf(SpoolFullError);

    expect(await spool.requeueSetAside()).toBe(1);
    expect(spool.setAside).toEqual({ batches: 0, bytes: 0 });
    expect(spool.count).toBe(2);
    expect(spool.oldest()).toMatchObject({ batch: batch(1n, 2), bytes: 8 });
    expect((await spool.read(spool.oldest()!)).toString()).toBe('refused!');
    expect(readdirSync(path.join(dir, 'set-aside'))).toEqual([]);
    expect(await spool.requeueSetAside()).toBe(0);

    // Set aside again, then a new collector on the folder: back in the queue, first.
    await spool.setAsideEntry(spool.oldest()!, 'logs: TYPE_MISMATCH');
    await spool.shutdown();
    const again = new Spool(dir, 100);
    await again.start();
    expect(again.requeuedAtStart).toBe(1);
    expect(again.count).toBe(2);
    expect(again.oldest()).toMatchObject({ batch: batch(1n, 2) });
    expect(readdirSync(path.join(dir, 'set-aside'))).toEqual([]);
    await again.shutdown();
  });
});

function batchFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => /\.rowbinary2?$/.test(n));
}
