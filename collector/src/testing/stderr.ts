/**
 * What the code under test writes to stderr (the collector's log lines), kept instead of
 * printed until `restore()`. For tests that check that something is said, and how often.
 */
export function captureStderr(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  return { lines, restore: () => void (process.stderr.write = original) };
}
