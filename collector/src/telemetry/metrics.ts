/**
 * Prometheus metrics in the text exposition format, kept per batch, never per record
 * on the hot path (callers add counts). Served at GET /metrics on the HTTP port.
 */
import { COLLECTOR_VERSION } from '../version';

type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k].replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
  ) {}
  abstract samples(): string[];
  render(): string {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()].join(
      '\n',
    );
  }
}

export class Counter extends Metric {
  private readonly values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(key(labels)) ?? 0;
  }
  /** The sum over every label set. */
  total(): number {
    let sum = 0;
    for (const v of this.values.values()) sum += v;
    return sum;
  }
  samples(): string[] {
    if (this.values.size === 0) return [`${this.name} 0`];
    return [...this.values].map(([k, v]) => `${this.name}${k ? `{${k}}` : ''} ${v}`);
  }
}

/** A value read when /metrics is scraped: a gauge, or a counter something else keeps (CPU seconds). */
export class Gauge extends Metric {
  constructor(
    name: string,
    help: string,
    private readonly read: () => number,
    type: 'gauge' | 'counter' = 'gauge',
  ) {
    super(name, help, type);
  }
  samples(): string[] {
    return [`${this.name} ${this.read()}`];
  }
}

/** `NAME{labels} 1`: facts about the process as labels (the build_info convention). */
class Info extends Metric {
  constructor(
    name: string,
    help: string,
    private readonly labels: Labels,
  ) {
    super(name, help, 'gauge');
  }
  samples(): string[] {
    return [`${this.name}{${key(this.labels)}} 1`];
  }
}

export class Histogram extends Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    name: string,
    help: string,
    private readonly buckets: number[],
  ) {
    super(name, help, 'histogram');
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) this.counts[i]++;
  }
  samples(): string[] {
    return [
      ...this.buckets.map((b, i) => `${this.name}_bucket{le="${b}"} ${this.counts[i]}`),
      `${this.name}_bucket{le="+Inf"} ${this.count}`,
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.count}`,
    ];
  }
}

export class CollectorMetrics {
  readonly received = new Counter(
    'distlog_records_received_total',
    'Log records decoded from requests, by transport.',
  );
  readonly accepted = new Counter(
    'distlog_records_accepted_total',
    'Log records acknowledged to clients (stored, spooled, forwarded or dropped by rule).',
  );
  readonly refused = new Counter(
    'distlog_records_refused_total',
    'Log records or requests refused, by reason.',
  );
  readonly routed = new Counter(
    'distlog_records_routed_total',
    'Log records matched per rule (default included).',
  );
  readonly dropped = new Counter(
    'distlog_records_dropped_total',
    'Log records dropped, by reason (rule, sample, forward_queue_full).',
  );
  readonly stored = new Counter('distlog_rows_inserted_total', 'Rows inserted into ClickHouse, by table.');
  readonly forwarded = new Counter(
    'distlog_records_forwarded_total',
    'Log records forwarded, by destination and outcome.',
  );
  readonly spooled = new Counter('distlog_batches_spooled_total', 'Batches written to the on-disk spool.');
  readonly replayed = new Counter(
    'distlog_batches_replayed_total',
    'Spooled batches inserted into ClickHouse.',
  );
  readonly setAside = new Counter(
    'distlog_batches_set_aside_total',
    "Spooled batches ClickHouse refused for what they hold, set aside in the spool's set-aside/ folder.",
  );
  readonly duplicatesAvoided = new Counter(
    'distlog_batches_already_stored_total',
    'Batches whose insert outcome was unknown and that were found stored: not inserted again.',
  );
  readonly requestsAlreadyStored = new Counter(
    'distlog_requests_already_stored_total',
    'Requests sent again by their client (after a collector died) and left out because they were stored.',
  );
  readonly misdated = new Counter(
    'distlog_records_misdated_total',
    "Records stored with a time older than their tier's retention (dropped at its next run) or more than a day ahead, by table and which.",
  );
  readonly insertLatency = new Histogram(
    'distlog_insert_duration_seconds',
    'ClickHouse insert latency.',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly batchRows = new Histogram(
    'distlog_insert_batch_rows',
    'Rows per ClickHouse insert.',
    [10, 100, 1000, 5000, 10000, 20000, 50000, 100000],
  );
  readonly metricPointsWritten = new Counter(
    'distlog_metric_points_written_total',
    'Rows of declared metrics (per metric, minute, hour or day, and group) written, by table.',
  );
  readonly metricPointsDropped = new Counter(
    'distlog_metric_points_dropped_total',
    'Rows of declared metrics dropped because ClickHouse stayed away too long, by table.',
  );
  readonly metricValuesMissing = new Counter(
    'distlog_metric_values_missing_total',
    'Records that matched a sum or distribution metric but had no numeric value attribute, by metric.',
  );
  readonly metricSeriesOverflow = new Counter(
    'distlog_metric_series_overflow_total',
    'Records counted under "~other" because their metric had more groups than metricOptions.maxSeries, by metric.',
  );
  /**
   * The process's own, under the names Prometheus clients use, so the usual dashboards and
   * alerts apply. Resident memory is what to watch: the table writers reserve batch
   * buffers of 64 MiB of which only written pages are resident (table-writer.ts), so
   * virtual and array-buffer sizes overstate the memory in use.
   */
  private readonly gauges: Metric[] = [
    new Info('distlog_build_info', "The collector's version and the Node.js it runs on.", {
      version: COLLECTOR_VERSION,
      node: process.version,
    }),
    new Gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () =>
      process.memoryUsage.rss(),
    ),
    new Gauge(
      'process_cpu_seconds_total',
      'User and system CPU time spent, in seconds.',
      () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1e6;
      },
      'counter',
    ),
    new Gauge(
      'process_start_time_seconds',
      'Start time of the process since the Unix epoch, in seconds.',
      () => Math.round(Date.now() / 1000 - process.uptime()),
    ),
    new Gauge(
      'nodejs_heap_size_total_bytes',
      "V8's heap size in bytes.",
      () => process.memoryUsage().heapTotal,
    ),
    new Gauge(
      'nodejs_heap_size_used_bytes',
      "V8's heap in use, in bytes.",
      () => process.memoryUsage().heapUsed,
    ),
  ];
  /** More exposition text (the declared metrics' current values). */
  extra: () => string = () => '';

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.push(new Gauge(name, help, read));
  }

  render(): string {
    const all: Metric[] = [
      this.received,
      this.accepted,
      this.refused,
      this.routed,
      this.dropped,
      this.stored,
      this.forwarded,
      this.spooled,
      this.replayed,
      this.setAside,
      this.duplicatesAvoided,
      this.requestsAlreadyStored,
      this.misdated,
      this.insertLatency,
      this.batchRows,
      this.metricPointsWritten,
      this.metricPointsDropped,
      this.metricValuesMissing,
      this.metricSeriesOverflow,
      ...this.gauges,
    ];
    return all.map((m) => m.render()).join('\n') + '\n' + this.extra();
  }
}
