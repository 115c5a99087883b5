/** The query API, typed as the server sends it (see query-ui/src/server). */
import type { ApiRecord } from '../../src/shared/api-types';
import { withBase } from './base';

export type { ApiRecord };
export type { ApiLevelRule, ApiLevelInstance } from '../../src/shared/api-types';

export interface ScopeNode {
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  startUnixNano?: string;
  durationMs?: number;
  status: 'ok' | 'error' | 'running';
  error?: string;
  children: ScopeNode[];
  records: Array<{
    timeUnixNano: string;
    service: string;
    scope: string;
    body: string;
    severityNumber: number;
    attributes: Record<string, string>;
  }>;
}

export interface TraceResult {
  traceId: string;
  records: ApiRecord[];
  tree: { roots: ScopeNode[]; orphans: ScopeNode['records']; clockNotes?: string[] };
  services: string[];
  tiers: string[];
}

/** Fired when the API answers 401: the app shows the login form. */
export const LOGIN_NEEDED = 'distlog:login-needed';

export async function getJson<T>(path: string, params?: URLSearchParams): Promise<T> {
  const res = await fetch(withBase(params ? `${path}?${params}` : path));
  return answer<T>(res);
}

/** An error the API answered; `position`: where in the query (`q`) it was. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly position?: number,
  ) {
    super(message);
  }
}

async function answer<T>(res: Response): Promise<T> {
  const body = await res.json();
  if (res.status === 401) window.dispatchEvent(new Event(LOGIN_NEEDED));
  if (!res.ok) throw new ApiError(body.error ?? `HTTP ${res.status}`, body.position);
  return body as T;
}

export interface Me {
  name: string;
  role: 'reader' | 'admin';
  authRequired: boolean;
  /** The tenants this user may read, when limited. */
  tenants?: string[];
}

export async function postJson<T>(path: string, payload: unknown): Promise<T> {
  const res = await fetch(withBase(path), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(payload),
  });
  return answer<T>(res);
}

export const SEVERITIES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

export function severityClass(n: number): string {
  if (n >= 21) return 'sev-fatal';
  if (n >= 17) return 'sev-error';
  if (n >= 13) return 'sev-warn';
  if (n >= 9) return 'sev-info';
  if (n >= 5) return 'sev-debug';
  return 'sev-trace';
}
