import { DecodeError, WireReader } from './wire-reader';
import { WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireWriter } from './wire-writer';
import type { LevelRule } from './level-rules';

/**
 * The messages of distlog.v1.LevelControl (distlog/v1/control.proto), both ways, and the
 * service's gRPC definition: the SDK subscribes and reports with them, the collector
 * answers with them. They are small and rare (a subscription, a rule set per change, a
 * report per change), so they are written and read plainly, without a protobuf library
 * (loading control.proto with one cost the collector ~3 MB at start). Unknown fields are
 * skipped, as protobuf requires; damaged bytes throw a DecodeError that names them.
 */

/** SubscribeRequest { service = 1; instance = 2; repeated string loggers = 3 }. */
export interface SubscribeRequest {
  service: string;
  instance: string;
  loggers: string[];
}

/** One logger's levels in a LevelReport (LoggerLevel without its name, which keys it). */
export interface EffectiveLevel {
  level: string;
  configured: string;
  rule?: string;
  onError?: boolean;
}

/** A process's loggers by name, as it reports them. */
export type EffectiveLevels = Record<string, EffectiveLevel>;

/** LevelReport { service = 1; instance = 2; repeated LoggerLevel loggers = 3 }. */
export interface LevelReport {
  service: string;
  instance: string;
  loggers: EffectiveLevels;
}

const NANOS_PER_MS = 1_000_000n;

/** An ISO time as fixed64 nanoseconds; 0 (unset) for none or a time that does not parse. */
function nanosOf(iso: string | undefined): bigint {
  const ms = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(ms) && ms > 0 ? BigInt(ms) * NANOS_PER_MS : 0n;
}

function isoOf(nanos: bigint): string | undefined {
  return nanos === 0n ? undefined : new Date(Number(nanos / NANOS_PER_MS)).toISOString();
}

function boolField(w: WireWriter, field: number, value: boolean | undefined): void {
  if (!value) return;
  w.tag(field, WIRE_VARINT);
  w.byte(1);
}

function fixed64Field(w: WireWriter, field: number, value: bigint): void {
  if (value === 0n) return;
  w.tag(field, WIRE_FIXED64);
  w.fixed64(value);
}

/**
 * Reads the fields of the message at r.pos up to `end`: `field` takes those it knows and
 * returns false for the others, which are skipped.
 */
function readMessage(r: WireReader, end: number, field: (number: number, wireType: number) => boolean): void {
  while (r.pos < end) {
    const key = r.varint();
    const wireType = key & 7;
    if (!field(Math.floor(key / 8), wireType)) r.skip(wireType);
  }
  if (r.pos !== end) throw new DecodeError('a field runs past the end of its message');
}

/** Reads the embedded messages of one repeated field (`number`) of the whole buffer. */
function readRepeated<T>(
  buf: Buffer,
  number: number,
  name: string,
  item: (r: WireReader, end: number) => T,
  other: (r: WireReader, number: number, wireType: number) => boolean = () => false,
): T[] {
  const r = new WireReader(buf);
  const items: T[] = [];
  readMessage(r, r.end, (n, wireType) => {
    if (n !== number || wireType !== WIRE_LEN) return other(r, n, wireType);
    const end = r.lengthDelimitedEnd();
    try {
      items.push(item(r, end));
    } catch (err) {
      throw err instanceof DecodeError ? err.at(`${name}[${items.length}]`) : err;
    }
    return true;
  });
  return items;
}

/** Fields left out are written as protobuf's defaults (as a protobuf library would). */
export function encodeSubscribeRequest(request: Partial<SubscribeRequest>): Buffer {
  const w = new WireWriter(256);
  w.stringField(1, request.service);
  w.stringField(2, request.instance);
  for (const l of request.loggers ?? []) {
    w.tag(3, WIRE_LEN);
    w.string(l);
  }
  return Buffer.from(w.bytes());
}

export function decodeSubscribeRequest(buf: Buffer): SubscribeRequest {
  const request: SubscribeRequest = { service: '', instance: '', loggers: [] };
  const r = new WireReader(buf);
  readMessage(r, r.end, (n, wireType) => {
    if (wireType !== WIRE_LEN || n < 1 || n > 3) return false;
    const text = r.string();
    if (n === 1) request.service = text;
    else if (n === 2) request.instance = text;
    else request.loggers.push(text);
    return true;
  });
  return request;
}

/** Fields left out are written as protobuf's defaults (as a protobuf library would). */
export function encodeLevelReport(report: Partial<LevelReport>): Buffer {
  const w = new WireWriter(1024);
  w.stringField(1, report.service);
  w.stringField(2, report.instance);
  for (const [name, l] of Object.entries(report.loggers ?? {})) {
    w.tag(3, WIRE_LEN);
    const at = w.begin();
    w.stringField(1, name);
    w.stringField(2, l.level);
    w.stringField(3, l.configured);
    w.stringField(4, l.rule);
    boolField(w, 5, l.onError);
    w.end(at);
  }
  return Buffer.from(w.bytes());
}

function decodeLoggerLevel(r: WireReader, end: number): [string, EffectiveLevel] {
  let name = '';
  const level: EffectiveLevel = { level: '', configured: '' };
  readMessage(r, end, (n, wireType) => {
    if (n === 5 && wireType === WIRE_VARINT) {
      if (r.varint() !== 0) level.onError = true;
      return true;
    }
    if (wireType !== WIRE_LEN || n < 1 || n > 4) return false;
    const text = r.string();
    if (n === 1) name = text;
    else if (n === 2) level.level = text;
    else if (n === 3) level.configured = text;
    else if (text) level.rule = text;
    return true;
  });
  return [name, level];
}

export function decodeLevelReport(buf: Buffer): LevelReport {
  let service = '';
  let instance = '';
  const loggers = readRepeated(buf, 3, 'loggers', decodeLoggerLevel, (r, n, wireType) => {
    if (wireType !== WIRE_LEN || (n !== 1 && n !== 2)) return false;
    if (n === 1) service = r.string();
    else instance = r.string();
    return true;
  });
  // fromEntries defines each name as its own key (a logger named "__proto__" stays a logger).
  return { service, instance, loggers: Object.fromEntries(loggers) };
}

function encodeRule(w: WireWriter, rule: LevelRule): void {
  w.stringField(1, rule.id);
  w.stringField(2, rule.service);
  w.stringField(3, rule.logger);
  w.stringField(4, rule.level);
  fixed64Field(w, 5, nanosOf(rule.expiresAt));
  w.stringField(6, rule.setBy);
  fixed64Field(w, 7, nanosOf(rule.setAt));
  boolField(w, 8, rule.onError);
}

/** LevelRules { repeated LevelRule rules = 1 }: times travel as nanoseconds, ISO 8601 in LevelRule. */
export function encodeLevelRules(rules: readonly LevelRule[]): Buffer {
  const w = new WireWriter(256 + 128 * rules.length);
  for (const rule of rules) {
    w.tag(1, WIRE_LEN);
    const at = w.begin();
    encodeRule(w, rule);
    w.end(at);
  }
  return Buffer.from(w.bytes());
}

function decodeRule(r: WireReader, end: number): LevelRule {
  const rule: LevelRule = { id: '', service: '', logger: '', level: '', setBy: '', setAt: '' };
  readMessage(r, end, (n, wireType) => {
    if (wireType === WIRE_LEN && n >= 1 && n <= 6 && n !== 5) {
      const text = r.string();
      if (n === 1) rule.id = text;
      else if (n === 2) rule.service = text;
      else if (n === 3) rule.logger = text;
      else if (n === 4) rule.level = text;
      else rule.setBy = text;
    } else if (wireType === WIRE_VARINT && n === 8) {
      if (r.varint() !== 0) rule.onError = true;
    } else if (wireType === WIRE_FIXED64 && (n === 5 || n === 7)) {
      const at = isoOf(r.fixed64());
      if (n === 5 && at) rule.expiresAt = at;
      if (n === 7) rule.setAt = at ?? '';
    } else return false;
    return true;
  });
  return rule;
}

/** LevelRules { repeated LevelRule rules = 1 }. Throws a DecodeError on damaged bytes. */
export function decodeLevelRules(buf: Buffer): LevelRule[] {
  return readRepeated(buf, 1, 'rules', decodeRule);
}

/** A gRPC method with its messages' codecs: the shape @grpc/grpc-js takes, without depending on it. */
export interface MethodDefinition<Request, Response> {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  originalName: string;
  requestSerialize: (value: Partial<Request>) => Buffer;
  requestDeserialize: (bytes: Buffer) => Request;
  responseSerialize: (value: Response) => Buffer;
  responseDeserialize: (bytes: Buffer) => Response;
}

const SERVICE = '/distlog.v1.LevelControl';
const empty = () => Buffer.alloc(0);

/**
 * distlog.v1.LevelControl: Subscribe (a SubscribeRequest, then a stream of rule sets) and
 * Report (a LevelReport; its answer, LevelReportAck, has no fields).
 */
export function levelControlServiceDefinition(): {
  Subscribe: MethodDefinition<SubscribeRequest, LevelRule[]>;
  Report: MethodDefinition<LevelReport, Record<string, never>>;
} {
  return {
    Subscribe: {
      path: `${SERVICE}/Subscribe`,
      requestStream: false,
      responseStream: true,
      originalName: 'subscribe',
      requestSerialize: encodeSubscribeRequest,
      requestDeserialize: decodeSubscribeRequest,
      responseSerialize: encodeLevelRules,
      responseDeserialize: decodeLevelRules,
    },
    Report: {
      path: `${SERVICE}/Report`,
      requestStream: false,
      responseStream: false,
      originalName: 'report',
      requestSerialize: encodeLevelReport,
      requestDeserialize: decodeLevelReport,
      responseSerialize: empty,
      responseDeserialize: () => ({}),
    },
  };
}
