import type { LogRow } from '../model/log-row';
import { emptyAttributes } from '../model/log-row';
import type { LevelChange } from './level-store';
import { nowUnixNano } from '../receivers/otlp/decode-common';

const RESOURCE = {
  serviceName: 'distlog-collector',
  attributes: { keys: ['service.name'], values: ['distlog-collector'] },
  schemaUrl: '',
  droppedAttributesCount: 0,
};
const SCOPE = { name: 'distlog.levels', version: '', attributes: emptyAttributes(), schemaUrl: '' };

/** A level rule change as a log record: event `distlog.level.set|cleared|expired`. */
export function levelChangeRecord(change: LevelChange): LogRow {
  const r = change.rule;
  const now = nowUnixNano();
  const who = change.kind === 'set' ? r.setBy : change.kind === 'cleared' ? change.by : 'expiry';
  const body =
    change.kind === 'set'
      ? `level rule set: ${r.service} / ${r.logger} → ${r.level}${r.expiresAt ? ` until ${r.expiresAt}` : ''} by ${who}`
      : `level rule ${change.kind}: ${r.service} / ${r.logger} → ${r.level}${change.kind === 'cleared' ? ` by ${who}` : ''}`;
  const attrs: Array<[string, string]> = [
    ['level.rule.id', r.id],
    ['level.rule.service', r.service],
    ['level.rule.logger', r.logger],
    ['level.rule.level', r.level],
    ['level.rule.expires_at', r.expiresAt ?? ''],
    ['level.rule.changed_by', who],
  ];
  return {
    timeUnixNano: now,
    observedTimeUnixNano: now,
    severityNumber: 9,
    severityText: 'INFO',
    body,
    attributes: { keys: attrs.map(([k]) => k), values: attrs.map(([, v]) => v) },
    droppedAttributesCount: 0,
    traceFlags: 0,
    traceId: '',
    spanId: '',
    eventName: `distlog.level.${change.kind}`,
    resource: RESOURCE,
    scope: SCOPE,
  };
}
