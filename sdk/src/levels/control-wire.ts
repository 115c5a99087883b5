import type { LevelRule } from './rules';

/**
 * The few messages of distlog.v1.LevelControl (proto/distlog/v1/control.proto) that the
 * SDK sends and receives over gRPC, in protobuf. They are small and rare (a subscription,
 * a rule set per change, a report per change), so they are written and read plainly.
 */

function varint(n: number): Buffer {
  const bytes: number[] = [];
  while (n > 127) {
    bytes.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/** A length-delimited field (wire type 2): a string or a nested message. */
function field(number: number, value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}

/** SubscribeRequest { service = 1; instance = 2; repeated loggers = 3 }. */
export function encodeSubscribeRequest(service: string, instance: string, loggers: string[]): Buffer {
  return Buffer.concat([field(1, service), field(2, instance), ...loggers.map((l) => field(3, l))]);
}

export type EffectiveLevels = Record<
  string,
  { level: string; configured: string; rule?: string; onError?: boolean }
>;

/** LevelReport { service = 1; instance = 2; repeated LoggerLevel loggers = 3 { name, level, configured, rule } }. */
export function encodeLevelReport(service: string, instance: string, loggers: EffectiveLevels): Buffer {
  return Buffer.concat([
    field(1, service),
    field(2, instance),
    ...Object.entries(loggers).map(([name, l]) =>
      field(
        3,
        Buffer.concat([
          field(1, name),
          field(2, l.level),
          field(3, l.configured),
          ...(l.rule ? [field(4, l.rule)] : []),
          ...(l.onError ? [Buffer.from([(5 << 3) | 0, 1])] : []),
        ]),
      ),
    ),
  ]);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 127) * scale;
      if (b < 128) return result;
      scale *= 128;
    }
    throw new Error('varint too long');
  }

  bytes(): Buffer {
    const length = this.varint();
    if (this.pos + length > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.buf.length) throw new Error('truncated fixed64');
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

const iso = (nanos: bigint) =>
  nanos === 0n ? undefined : new Date(Number(nanos / 1_000_000n)).toISOString();

function decodeRule(buf: Buffer): LevelRule {
  const r = new Reader(buf);
  const rule: LevelRule = { id: '', service: '', logger: '', level: '', setBy: '', setAt: '' };
  while (!r.done) {
    const key = r.varint();
    const number = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 2 && number >= 1 && number <= 6 && number !== 5) {
      const text = r.bytes().toString('utf8');
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
  const r = new Reader(buf);
  const rules: LevelRule[] = [];
  while (!r.done) {
    const key = r.varint();
    if (key === ((1 << 3) | 2)) rules.push(decodeRule(r.bytes()));
    else r.skip(key & 7);
  }
  return rules;
}
