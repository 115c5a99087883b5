import { LogRow } from '../model/log-row';
import { TableWriter } from '../sinks/clickhouse/table-writer';
import { PartialSuccess } from '../receivers/otlp/responses';

/**
 * What every receiver hands its decoded records to. consume() resolves once every
 * record is stored (or deliberately refused, reported as a partial success) and
 * rejects when the records could not be stored and the client should retry.
 */
export interface Consumer {
  consume(rows: LogRow[]): Promise<PartialSuccess | undefined>;
}

/** The foundation's pipeline: every record into the default tier's table. */
export class DefaultTierPipeline implements Consumer {
  constructor(private readonly writer: TableWriter) {}

  async consume(rows: LogRow[]): Promise<PartialSuccess | undefined> {
    await this.writer.write(rows);
    return undefined;
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }
}
