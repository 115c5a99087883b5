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
