import { readFileSync } from 'node:fs';

/** A process's resident memory in MB, from /proc (0 once it is gone). */
export function rssMb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  } catch {
    return 0;
  }
}
