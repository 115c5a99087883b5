/**
 * Whether this process sends pino records through Distlog (a destination was made,
 * or a logger was created with Distlog's transport). When it does, records that
 * @opentelemetry/instrumentation-pino's log sending would emit for the same calls are
 * duplicates, and the export processor leaves them out.
 */
export const INSTRUMENTATION_PINO_SCOPE = '@opentelemetry/instrumentation-pino';
export const DISTLOG_TRANSPORT_TARGET = '@distlog/sdk/pino';

/** Marks the streams distlogDestination() makes. */
export const DISTLOG_DESTINATION = Symbol.for('distlog.destination');

export function isDistlogDestination(stream: unknown): boolean {
  return typeof stream === 'object' && stream !== null && DISTLOG_DESTINATION in stream;
}

let active = false;

export function markDistlogPinoActive(): void {
  active = true;
}

export function distlogPinoActive(): boolean {
  return active;
}

/** True when pino `transport` options name Distlog's transport (single, `targets` or `pipeline`). */
export function usesDistlogTransport(transport: unknown): boolean {
  if (!transport || typeof transport !== 'object') return false;
  const t = transport as { target?: unknown; targets?: unknown[]; pipeline?: unknown[] };
  if (typeof t.target === 'string' && t.target.startsWith(DISTLOG_TRANSPORT_TARGET)) return true;
  return [...(t.targets ?? []), ...(t.pipeline ?? [])].some(usesDistlogTransport);
}

/** The event the app's side of a transport stream receives when Distlog's transport is its only target. */
export const ONLY_TRANSPORT_EVENT = 'distlog:only-transport';
