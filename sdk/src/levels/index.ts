import type { LevelRegistry } from './registry';

/** The registry init() set up, for the pino instrumentation to register loggers with. */
let current: LevelRegistry | undefined;

export function setLevelRegistry(registry: LevelRegistry | undefined): void {
  current = registry;
}

/** Puts a logger (root or child, named by pino/logger-name.ts) under run-time level control, if it is on. */
export function trackLogger(logger: { level: string }, name: string): void {
  current?.register(logger, name);
}

export { LevelRegistry } from './registry';
export { LevelSubscriber } from './subscriber';
export { effectiveRule } from './rules';
export type { LevelRule } from './rules';
