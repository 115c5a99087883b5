import type { ClickHouse } from '../storage/clickhouse';
import { intLiteral, stringLiteral } from '../storage/sql';
import { log } from '../helpers/log';
import type { Component } from '../pipeline/component';

/**
 * This collector in the `collectors` table (migration 0014): its id and the address of
 * its live-tail stream, written at start, every `heartbeatMs` and at stop. Query servers
 * read the table to find every collector to subscribe to.
 */
export class CollectorRegistry implements Component {
  private timer: NodeJS.Timeout | undefined;
  private problem: string | undefined;

  constructor(
    private readonly ch: ClickHouse,
    readonly collectorId: string,
    readonly tailUrl: string,
    private readonly heartbeatMs = 10_000,
  ) {}

  async start(): Promise<void> {
    if (this.timer) return;
    const beat = () => {
      void this.write(true).finally(() => {
        if (this.timer) this.timer = setTimeout(beat, this.heartbeatMs).unref();
      });
    };
    this.timer = setTimeout(beat, 0).unref();
  }

  async shutdown(): Promise<void> {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.write(false);
  }

  private async write(alive: boolean): Promise<void> {
    try {
      await this.ch.command(
        `INSERT INTO ${this.ch.database}.collectors (Collector, TailUrl, Alive, SeenAt, Version) VALUES ` +
          `(${stringLiteral(this.collectorId)}, ${stringLiteral(this.tailUrl)}, ${alive ? 1 : 0}, now(), ` +
          `${intLiteral(BigInt(Date.now()))})`,
      );
      if (this.problem) log('info', 'collector registered in ClickHouse again', {});
      this.problem = undefined;
    } catch (err) {
      if (this.problem === undefined)
        log('warn', 'cannot register this collector in ClickHouse; query servers will not tail it', {
          error: String(err),
        });
      this.problem = String(err);
    }
  }
}
