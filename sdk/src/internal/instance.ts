import type { Distlog } from '../init';

/**
 * The instance init() created, where every part reads it — without importing init.ts,
 * whose own imports reach most of the SDK (scope → init → levels → console → scope was a
 * cycle). init.ts sets it, and registers itself as the way to make one with defaults
 * (scope() starts Distlog lazily when the app did not).
 */
let current: Distlog | undefined;
let initializer: (() => Distlog) | undefined;

export function currentDistlog(): Distlog | undefined {
  return current;
}

export function setCurrentDistlog(instance: Distlog | undefined): void {
  current = instance;
}

export function setDefaultInitializer(make: () => Distlog): void {
  initializer = make;
}

/** The instance, made with init()'s defaults when there is none yet. */
export function ensureDistlog(): Distlog | undefined {
  return current ?? initializer?.();
}
