import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The heap settings of `distlog collector` / `distlog up` (heap-settings.ts), in a real Node
// process started as the command starts: the module is loaded first, then the process
// makes objects that outlive scavenges, which is what makes V8 grow its young generation.
const BUILT = path.resolve(__dirname, '../../dist/cli/heap-settings.js');
let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-heap-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function youngGenerationMiB(argv: string[], nodeArgs: string[] = []): number {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npm run build)`);
  const script = path.join(dir, 'grow.js');
  writeFileSync(
    script,
    `require(${JSON.stringify(BUILT)});
     const v8 = require('node:v8');
     let kept = [];
     for (let i = 0; i < 400000; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 50000) kept = []; }
     const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
     process.stdout.write(String(space.space_size / 1048576));`,
  );
  const out = spawnSync(process.execPath, [...nodeArgs, script, ...argv], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(out.stderr);
  return Number(out.stdout);
}

describe('heap settings of the processes that run a collector', () => {
  it('keep the young generation at its starting size for `collector` and `up`, not for other verbs', () => {
    const other = youngGenerationMiB(['search']);
    expect(youngGenerationMiB(['collector'])).toBeLessThan(other);
    expect(youngGenerationMiB(['up'])).toBeLessThan(other);
  });

  it('leave a process started with semi-space settings of its own alone', () => {
    // (The starting size differs between Node versions: compared, not fixed.)
    expect(youngGenerationMiB(['collector'], ['--max-semi-space-size=8'])).toBeGreaterThan(
      youngGenerationMiB(['collector']),
    );
  });
});
