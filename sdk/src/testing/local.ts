import { init } from '../init';
import { LevelRegistry, setLevelRegistry } from '../levels';

/**
 * For the SDK's tests and benches: an instance that exports nowhere reachable (its records
 * are read back with `getDistlog().processor.takeQueued()`), with no level subscription,
 * exit hooks or crash capture, and a level registry the caller sets rules on directly.
 * Not part of the package (package.json "files").
 */
export function initLocal(service = 'svc'): LevelRegistry {
  init({
    serviceName: service,
    levelControl: false,
    exitHooks: false,
    crashes: false,
    endpoint: 'http://127.0.0.1:9',
  });
  const registry = new LevelRegistry(service, () => undefined);
  setLevelRegistry(registry);
  return registry;
}
