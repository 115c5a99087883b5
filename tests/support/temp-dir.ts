import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made = new Set<string>();

/**
 * A new folder under the system's temporary directory, removed after the test file
 * (support/jest-cleanup.ts) or, outside jest (the soak), when the process exits — not sooner:
 * a test may start a second collector over the first one's home and spool.
 */
export function temporaryDir(prefix: string): string {
  if (made.size === 0) process.once('exit', removeTemporaryDirs);
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}

export function removeTemporaryDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}
