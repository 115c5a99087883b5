import { LevelRegistry } from './registry';

/** The registry init() set up, for the pino factory hook to register loggers with. */
let current: LevelRegistry | undefined;

export function setLevelRegistry(registry: LevelRegistry | undefined): void {
  current = registry;
}

type Logger = { level: string; child: (bindings: Record<string, unknown>, options?: object) => Logger };

/**
 * Registers a logger and, through its `child`, every child made from it: the child's
 * logger name is its `logger` or `module` binding, else its parent's name (as the
 * mapper names the instrumentation scope).
 */
export function trackLogger(logger: Logger, name: string): void {
  const registry = current;
  if (!registry || typeof logger.child !== 'function') return;
  registry.register(logger, name);
  const child = logger.child;
  logger.child = function (this: Logger, bindings: Record<string, unknown>, options?: object) {
    const made = child.call(this, bindings, options);
    const named =
      typeof bindings?.logger === 'string'
        ? bindings.logger
        : typeof bindings?.module === 'string'
          ? bindings.module
          : name;
    trackLogger(made, named);
    return made;
  };
}

export { LevelRegistry } from './registry';
export { LevelSubscriber } from './subscriber';
export { effectiveRule } from './rules';
export type { LevelRule } from './rules';
