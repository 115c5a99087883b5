import { execFileSync } from 'node:child_process';
import path from 'node:path';

// The query server and the console verbs read ClickHouse through the collector's parts
// (@distlog/collector/storage, /auth, /model, /config) and must not load its runtime:
// receivers, the pipeline, sinks, level control's server side, gRPC. Checked on the built
// modules in a fresh Node process (what `distlog ui` and `distlog search` load).
const RUNTIME =
  /\/collector\/dist\/(collector|receivers|pipeline|router|sinks|control|tail|telemetry)\b|@grpc\/grpc-js/;

function loadedBy(entry: string): string[] {
  const script = `require(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
}

describe('what the query server loads', () => {
  const dist = path.resolve(__dirname, '../../dist');

  it.each([
    ['the query server', 'server/app.js'],
    ['the library entry point', 'index.js'],
    ['the distlog verbs (registry)', 'cli/registry.js'],
  ])('%s loads nothing of the collector runtime', (_what, file) => {
    const loaded = loadedBy(path.join(dist, file));
    expect(loaded.some((f) => f.includes('/collector/dist/storage/'))).toBe(true);
    expect(loaded.filter((f) => RUNTIME.test(f))).toEqual([]);
  });

  it('the collector verbs load it when they run', () => {
    const loaded = loadedBy(path.join(dist, 'cli/load-collector.js'));
    expect(loaded.filter((f) => RUNTIME.test(f))).toEqual([]);
    const script = `require(${JSON.stringify(path.join(dist, 'cli/load-collector.js'))}).loadCollector().then(() => process.stdout.write(JSON.stringify(Object.keys(require.cache))))`;
    const after = JSON.parse(
      execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }),
    ) as string[];
    expect(after.some((f) => /\/collector\/dist\/receivers\//.test(f))).toBe(true);
  });
});
