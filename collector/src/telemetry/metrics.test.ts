import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CollectorMetrics } from './metrics';

/** The value of an unlabelled sample in Prometheus text. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} not in /metrics`);
  return Number(line.slice(name.length + 1));
}

describe('the process metrics in /metrics', () => {
  it('are there under the names Prometheus clients use, with their types, and read when scraped', () => {
    const metrics = new CollectorMetrics();
    const first = metrics.render();
    for (const [name, type] of [
      ['process_resident_memory_bytes', 'gauge'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_start_time_seconds', 'gauge'],
      ['nodejs_heap_size_total_bytes', 'gauge'],
      ['nodejs_heap_size_used_bytes', 'gauge'],
    ])
      expect(first).toContain(`# TYPE ${name} ${type}\n`);

    const rss = sample(first, 'process_resident_memory_bytes');
    expect(rss).toBeGreaterThan(10 * 1024 * 1024);
    expect(rss).toBeLessThan(4 * process.memoryUsage.rss());
    expect(sample(first, 'nodejs_heap_size_used_bytes')).toBeLessThanOrEqual(
      sample(first, 'nodejs_heap_size_total_bytes'),
    );
    const started = sample(first, 'process_start_time_seconds');
    expect(Math.abs(started - (Date.now() / 1000 - process.uptime()))).toBeLessThan(2);

    // CPU time is read at each scrape: spend some, and the counter has moved.
    const cpu = sample(first, 'process_cpu_seconds_total');
    const until = Date.now() + 50;
    let spin = 0;
    while (Date.now() < until) spin++;
    expect(spin).toBeGreaterThan(0);
    expect(sample(metrics.render(), 'process_cpu_seconds_total')).toBeGreaterThan(cpu);
  });

  it('say which version runs, on which Node (distlog_build_info), as the package says', () => {
    const { version } = JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const text = new CollectorMetrics().render();
    expect(text).toContain('# TYPE distlog_build_info gauge\n');
    expect(text).toContain(`distlog_build_info{node="${process.version}",version="${version}"} 1\n`);
  });
});
