import { DecodeError, WIRE_LEN, WIRE_VARINT, WireReader, WireWriter } from '@distlog/proto';
import type { LevelRule } from './rules';

/**
 * The few messages of distlog.v1.LevelControl (proto/distlog/v1/control.proto) that the
 * SDK sends and receives over gRPC, in protobuf. They are small and rare (a subscription,
 * a rule set per change, a report per change), so they are written and read plainly.
 */

/** SubscribeRequest { service = 1; instance = 2; repeated loggers = 3 }. */
export function encodeSubscribeRequest(service: string, instance: string, loggers: string[]): Buffer {
  const w = new WireWriter(256);
  w.stringField(1, service);
  w.stringField(2, instance);
  for (const l of loggers) {
    w.tag(3, WIRE_LEN);
    w.string(l);
  }
  return Buffer.from(w.bytes());
}

export type EffectiveLevels = Record<
  string,
  { level: string; configured: string; rule?: string; onError?: boolean }
>;

/** LevelReport { service = 1; instance = 2; repeated LoggerLevel loggers = 3 { name, level, configured, rule } }. */
export function encodeLevelReport(service: string, instance: string, loggers: EffectiveLevels): Buffer {
  const w = new WireWriter(1024);
  w.stringField(1, service);
  w.stringField(2, instance);
  for (const [name, l] of Object.entries(loggers)) {
    w.tag(3, WIRE_LEN);
    const at = w.begin();
    w.stringField(1, name);
    w.stringField(2, l.level);
    w.stringField(3, l.configured);
    w.stringField(4, l.rule);
    if (l.onError) {
      w.tag(5, WIRE_VARINT);
      w.byte(1);
    }
    w.end(at);
  }
  return Buffer.from(w.bytes());
}

const iso = (nanos: bigint) =>
  nanos === 0n ? undefined : new Date(Number(nanos / 1_000_000n)).toISOString();

function decodeRule(r: WireReader, end: number): LevelRule {
  const rule: LevelRule = { id: '', service: '', logger: '', level: '', setBy: '', setAt: '' };
  while (r.pos < end) {
    const key = r.varint();
    const number = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 2 && number >= 1 && number <= 6 && number !== 5) {
      const text = r.string();
      if (number === 1) rule.id = text;
      else if (number === 2) rule.service = text;
      else if (number === 3) rule.logger = text;
      else if (number === 4) rule.level = text;
      else rule.setBy = text;
    } else if (wire === 0 && number === 8) {
      if (r.varint() !== 0) rule.onError = true;
    } else if (wire === 1 && (number === 5 || number === 7)) {
      const at = iso(r.fixed64());
      if (number === 5 && at) rule.expiresAt = at;
      if (number === 7) rule.setAt = at ?? '';
    } else r.skip(wire);
  }
  return rule;
}

/** LevelRules { repeated LevelRule rules = 1 }. Throws on damaged bytes. */
export function decodeLevelRules(buf: Buffer): LevelRule[] {
  const r = new WireReader(buf);
  const rules: LevelRule[] = [];
  while (r.pos < r.end) {
    const key = r.varint();
    if (key === ((1 << 3) | WIRE_LEN)) {
      const end = r.lengthDelimitedEnd();
      rules.push(decodeRule(r, end));
      if (r.pos !== end) throw new DecodeError('a rule runs past its length');
    } else r.skip(key & 7);
  }
  return rules;
}
