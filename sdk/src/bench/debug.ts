// The cost of captureDebug() in the app's thread: a namespace that no rule and no DEBUG
// enables (the common case: express, router, … make many) without the capture, with
// instances made before it and after it; and a namespace a rule enabled (recorded, not
// printed). Each case runs in a process of its own (V8's type feedback for debug's shared
// code depends on how many instances were called before: in one process the order of the
// cases would decide the figures), rounds alternate, medians. Run by run.ts.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import createDebug from 'debug';
import { captureDebug } from '../debug';
import { getDistlog } from '../init';
import { initLocal } from '../testing/local';

const CALLS = Number(process.env.BENCH_DEBUG_CALLS ?? 2_000_000);
const ROUNDS = 5;
const CASES = {
  plain: 'plain debug (no capture)',
  before: 'captured, instances made before captureDebug()',
  after: 'captured, instances made after captureDebug()',
  rule: 'enabled by a rule: recorded, not printed',
} as const;
type Case = keyof typeof CASES;

/** One case, in this process: three namespaces as a library makes them, the third one called. */
function runCase(which: Case): number {
  const capture = () => {
    const registry = initLocal('bench');
    captureDebug();
    registry.setRules([
      {
        id: 'b',
        service: '*',
        logger: 'bench:on',
        level: 'debug',
        setBy: 'bench',
        setAt: new Date().toISOString(),
      },
    ]);
  };
  if (which === 'after' || which === 'rule') capture();
  const name = which === 'rule' ? 'bench:on' : 'bench:quiet';
  const made = [createDebug('bench:a'), createDebug('bench:b'), createDebug(name)];
  if (which === 'before') capture();
  made[0]('warm %d', 0);
  made[1]('warm %d', 0);
  const target = made[2];
  const calls = which === 'rule' ? Math.min(CALLS, 200_000) : CALLS;
  for (let i = 0; i < Math.min(calls, 100_000); i++) target('request %d done', i); // warm-up
  if (which === 'rule') getDistlog()!.processor.takeQueued();
  const started = performance.now();
  for (let i = 0; i < calls; i++) target('request %d done', i);
  return ((performance.now() - started) * 1e6) / calls;
}

export function debugBench(): void {
  const results = new Map<Case, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const which of Object.keys(CASES) as Case[]) {
      const child = spawnSync(process.execPath, [__filename, which], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`debug bench ${which} failed: ${child.stderr}`);
      results.set(which, [...(results.get(which) ?? []), Number(child.stdout.trim())]);
    }
  }
  const median = (which: Case) => {
    const xs = [...results.get(which)!].sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)];
  };
  const plain = median('plain');
  console.log(`\ndebug package: ${CALLS} calls of one namespace of three (${ROUNDS} rounds, medians)`);
  console.table(
    (Object.keys(CASES) as Case[]).map((which) => ({
      case: CASES[which],
      'ns/call': median(which).toFixed(which === 'rule' ? 0 : 1),
      'x plain': which === 'rule' ? '(does work)' : (median(which) / plain).toFixed(2),
    })),
  );
  const worst = Math.max(median('before'), median('after')) / plain;
  console.log(
    `goal: a disabled namespace costs no more than in plain debug (≤ 1.10× for noise): ${worst <= 1.1 ? 'met' : 'NOT met'} (${worst.toFixed(2)}×)`,
  );
}

if (require.main === module) process.stdout.write(`${runCase(process.argv[2] as Case)}\n`);
