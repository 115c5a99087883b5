import type * as Collector from '@distlog/collector';

/**
 * The collector's runtime (receivers, pipeline, sinks, gRPC), loaded only by the verbs that
 * run a collector (`up`, `collector`): every other verb starts without it.
 */
export function loadCollector(): Promise<typeof Collector> {
  return import('@distlog/collector');
}
