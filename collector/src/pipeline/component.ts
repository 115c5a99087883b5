import type { LogRow } from '../model/log-row';

/**
 * The contract of every collector component (receivers, table writers, forward sinks,
 * the spool and its replayer, the metric sink, level control, the registry, live tail):
 * start() brings it up, shutdown() finishes what it holds and releases what it opened.
 * Both are idempotent, and shutdown() is safe on a component never started — so the
 * collector starts components in order and shuts every one down, whatever failed.
 */
export interface Component {
  start(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The contract of every stage records pass through — the receivers' consumer (the routing
 * pipeline), each tier's table writer, each forward sink: `consume(batch)`, with the id of
 * the request the records came in (stored once however often it is sent). What it returns
 * is the stage's own: the pipeline a partial success, a writer whether it stored the rows,
 * a forward sink nothing (it queues).
 */
export interface Stage<R> {
  consume(rows: readonly LogRow[], requestId?: bigint): R;
}
