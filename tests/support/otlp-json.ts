import { randomUUID } from 'node:crypto';
/** Builders for OTLP/JSON requests, as any HTTP client would send them. */
export interface JsonRecord {
  body: string;
  severityNumber?: number;
  eventName?: string;
  traceId?: string;
  spanId?: string;
  timeUnixNano?: string;
  attributes?: Record<string, string>;
  scope?: string;
}

export function otlpJson(service: string, records: JsonRecord[]): string {
  const byScope = new Map<string, JsonRecord[]>();
  for (const r of records) byScope.set(r.scope ?? 'test', [...(byScope.get(r.scope ?? 'test') ?? []), r]);
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeLogs: [...byScope].map(([scope, list]) => ({
          scope: { name: scope },
          logRecords: list.map((r) => ({
            timeUnixNano: r.timeUnixNano,
            severityNumber: r.severityNumber ?? 9,
            body: { stringValue: r.body },
            eventName: r.eventName,
            traceId: r.traceId,
            spanId: r.spanId,
            attributes: Object.entries(r.attributes ?? {}).map(([key, value]) => ({
              key,
              value: { stringValue: value },
            })),
          })),
        })),
      },
    ],
  });
}

export async function postJson(httpPort: number, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/logs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
  });
  return { status: res.status, text: await res.text() };
}

/**
 * Sends one OTLP/JSON request the way an exporter does until it is acknowledged (200): a
 * refused, reset or timed-out request is sent again, the same bytes, after `pauseMs` — to
 * the port `nextPort()` names each time (one collector, or the next of several).
 * `onRetry` hears each failed attempt: the status (503, …) or undefined for a network error.
 */
export async function sendUntilAcknowledged(
  nextPort: () => number,
  body: string,
  options: { timeoutMs: number; pauseMs: number; onRetry?: (status: number | undefined) => void },
): Promise<void> {
  for (;;) {
    let status: number | undefined;
    try {
      const res = await fetch(`http://127.0.0.1:${nextPort()}/v1/logs`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      await res.arrayBuffer();
      if (res.status === 200) return;
      status = res.status;
    } catch {
      // the collector is gone, restarting, or the network cut the request: send it again
    }
    options.onRetry?.(status);
    await new Promise((r) => setTimeout(r, options.pauseMs));
  }
}

/**
 * One call across two services whose clocks disagree, as their scope start records say it:
 * `caller`'s scope, and `called`'s scope inside it stamped `behindMs` before it (that host's
 * clock runs behind). Sent the way any OTLP/HTTP sender would; returns the trace id.
 */
export async function postCallWithClockBehind(
  httpPort: number,
  caller: { service: string; scope: string },
  called: { service: string; scope: string },
  behindMs: number,
): Promise<string> {
  const hex = () => randomUUID().replace(/-/g, '');
  const traceId = hex();
  const [outer, inner] = [hex().slice(0, 16), hex().slice(0, 16)];
  const t0 = Date.now() - 60_000;
  const at = (ms: number) => (BigInt(t0 + ms) * 1_000_000n).toString();
  const start = 'distlog.scope.start';
  const scopeStart = (spanId: string, ms: number, name: string, parent?: string): JsonRecord => ({
    body: `${name} started`,
    eventName: start,
    traceId,
    spanId,
    timeUnixNano: at(ms),
    attributes: { 'scope.name': name, ...(parent ? { 'scope.parent_span_id': parent } : {}) },
  });
  await postJson(httpPort, otlpJson(caller.service, [scopeStart(outer, 1000, caller.scope)]));
  await postJson(
    httpPort,
    otlpJson(called.service, [scopeStart(inner, 1000 - behindMs, called.scope, outer)]),
  );
  return traceId;
}
