import type { LevelRule } from '@distlog/proto';
import type { CollectorStatus } from '@distlog/collector';
/**
 * The JSON shapes of the query API, shared by the server, the command line and the web UI
 * (types only: no runtime code, no Node.js imports, so the browser build can use it too).
 */
export interface ApiRecord {
  id: string;
  time: string;
  timeUnixNano: string;
  service: string;
  severityText: string;
  severityNumber: number;
  scope: string;
  eventName: string;
  body: string;
  traceId: string;
  spanId: string;
  attributes: Record<string, string>;
  resource: Record<string, string>;
  tier: string;
  /** The message's pattern (its template's id, hex; `pattern:ID` in a query); absent for records stored before pattern ids. */
  patternId?: string;
}

/** A run-time level rule as /api/levels returns it. */
/** A level rule as the API returns it: the wire shape every part shares. */
export type ApiLevelRule = LevelRule;

/** A process subscribed to level rules, with each logger's configured and effective level. */
export interface ApiLevelInstance {
  service: string;
  instance: string;
  /** False: the process sends records but does not follow level rules (it could not subscribe). */
  connected: boolean;
  loggers: Record<string, { level: string; configured?: string; rule?: string; onError?: boolean }>;
  /** For processes that are not connected: when they last sent records. */
  lastSeenAt?: string;
  /** The collector the process is subscribed through (several collectors share the rules). */
  collector?: string;
}

/** The search language's fields, in the order a reader takes them (autocompletion). */
/** `GET /api/status`: the running collectors, each with its own status or why it did not answer. */
export interface ApiStatus {
  collectors: Array<{ id: string; url: string; status?: CollectorStatus; error?: string }>;
  /** What an operator must act on, in words (empty when all is well). */
  problems: string[];
}

export const COMPLETABLE_FIELDS = [
  'service:',
  'severity>=',
  'logger:',
  'has:',
  'trace:',
  'tier:',
  'event:',
  'pattern:',
  'message:',
];
