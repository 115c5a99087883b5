import type { LogRow } from '../model/log-row';
import type { Consumer } from '../pipeline/pipeline';
import type { PartialSuccess } from '../receivers/otlp/responses';

/** The processes that sent records lately, by service and service.instance.id. */
export interface Sender {
  service: string;
  instance: string;
  lastSeenAt: number;
}

const INSTANCE_KEY = 'service.instance.id';

/**
 * Notes which processes send records, in front of the pipeline, so that a process that
 * sends logs but did not subscribe to level control — the silent failure of a
 * misconfigured app — shows in `distlog level list` as "not connected". Rows of one
 * ResourceLogs share their resource object: a pointer compare per row, a lookup per
 * resource. Bounded: the oldest are forgotten past `max`, and a sender not seen for
 * `forgetAfterMs` is forgotten when listed.
 */
export class SenderTracker implements Consumer {
  private readonly senders = new Map<string, Sender>();

  constructor(
    private readonly next: Consumer,
    private readonly max = 10_000,
    private readonly forgetAfterMs = 15 * 60_000,
  ) {}

  consume(rows: LogRow[], requestId?: bigint): Promise<PartialSuccess | undefined> {
    let last: LogRow['resource'] | undefined;
    const now = Date.now();
    for (const row of rows) {
      if (row.resource === last) continue;
      last = row.resource;
      const at = last.attributes.keys.indexOf(INSTANCE_KEY);
      if (at >= 0) this.saw(last.serviceName, last.attributes.values[at], now);
    }
    return this.next.consume(rows, requestId);
  }

  list(now = Date.now()): Sender[] {
    for (const [key, s] of this.senders)
      if (now - s.lastSeenAt > this.forgetAfterMs) this.senders.delete(key);
    return [...this.senders.values()];
  }

  private saw(service: string, instance: string, now: number): void {
    const key = `${service}\u0000${instance}`;
    const known = this.senders.get(key);
    if (known) {
      known.lastSeenAt = now;
      return;
    }
    if (this.senders.size >= this.max) this.senders.delete(this.senders.keys().next().value!);
    this.senders.set(key, { service, instance, lastSeenAt: now });
  }
}
