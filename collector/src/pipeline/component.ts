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
