import type { Attributes, LogRow, ResourceInfo, ScopeInfo } from '../../model/log-row';
import { ByteWriter } from '../../helpers/byte-writer';

/**
 * LogRows → an OTLP ExportLogsServiceRequest (protobuf), grouped back into
 * ResourceLogs/ScopeLogs by the shared resource and scope objects. Values travel as
 * they are stored: attribute values and bodies as strings.
 */
export function encodeLogsRequest(rows: readonly LogRow[]): Buffer {
  const byResource = new Map<ResourceInfo, Map<ScopeInfo, LogRow[]>>();
  for (const row of rows) {
    let scopes = byResource.get(row.resource);
    if (!scopes) byResource.set(row.resource, (scopes = new Map()));
    let list = scopes.get(row.scope);
    if (!list) scopes.set(row.scope, (list = []));
    list.push(row);
  }
  const w = new ProtoWriter();
  for (const [resource, scopes] of byResource) {
    w.message(1, () => {
      w.message(1, () => {
        writeAttributes(w, 1, resource.attributes);
        if (resource.droppedAttributesCount) w.varintField(2, resource.droppedAttributesCount);
      });
      for (const [scope, list] of scopes) {
        w.message(2, () => {
          w.message(1, () => {
            w.stringField(1, scope.name);
            w.stringField(2, scope.version);
            writeAttributes(w, 3, scope.attributes);
          });
          for (const row of list) w.message(2, () => writeRecord(w, row));
          w.stringField(3, scope.schemaUrl);
        });
      }
      w.stringField(3, resource.schemaUrl);
    });
  }
  return w.finish();
}

function writeRecord(w: ProtoWriter, row: LogRow): void {
  w.fixed64Field(1, row.timeUnixNano);
  if (row.severityNumber) w.varintField(2, row.severityNumber);
  w.stringField(3, row.severityText);
  if (row.body !== '') w.message(5, () => w.stringField(1, row.body));
  writeAttributes(w, 6, row.attributes);
  if (row.droppedAttributesCount) w.varintField(7, row.droppedAttributesCount);
  if (row.traceFlags) w.fixed32Field(8, row.traceFlags);
  if (row.traceId) w.bytesField(9, Buffer.from(row.traceId, 'hex'));
  if (row.spanId) w.bytesField(10, Buffer.from(row.spanId, 'hex'));
  w.fixed64Field(11, row.observedTimeUnixNano);
  w.stringField(12, row.eventName);
}

function writeAttributes(w: ProtoWriter, field: number, attrs: Attributes): void {
  for (let i = 0; i < attrs.keys.length; i++) {
    w.message(field, () => {
      w.stringField(1, attrs.keys[i]);
      w.message(2, () => w.stringField(1, attrs.values[i], true));
    });
  }
}

/** A minimal protobuf writer: nested messages are written in place and their length patched after. */
class ProtoWriter extends ByteWriter {
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  message(field: number, body: () => void): void {
    this.tag(field, 2);
    // Reserve 5 bytes for the length (enough for 4 GiB), then shift the body back if shorter.
    this.ensure(5);
    const lengthAt = this.pos;
    this.pos += 5;
    body();
    const length = this.pos - lengthAt - 5;
    const lengthBytes = varintBytes(length);
    if (lengthBytes.length < 5)
      this.buf.copy(this.buf, lengthAt + lengthBytes.length, lengthAt + 5, this.pos);
    lengthBytes.copy(this.buf, lengthAt);
    this.pos -= 5 - lengthBytes.length;
  }

  stringField(field: number, value: string, always = false): void {
    if (value === '' && !always) return;
    const length = Buffer.byteLength(value);
    this.tag(field, 2);
    this.varint(length);
    this.ensure(length);
    this.buf.write(value, this.pos, length, 'utf8');
    this.pos += length;
  }

  bytesField(field: number, value: Buffer): void {
    this.tag(field, 2);
    this.varint(value.length);
    this.ensure(value.length);
    value.copy(this.buf, this.pos);
    this.pos += value.length;
  }

  varintField(field: number, value: number): void {
    this.tag(field, 0);
    this.varint(value);
  }

  fixed32Field(field: number, value: number): void {
    this.tag(field, 5);
    this.ensure(4);
    this.buf.writeUInt32LE(value, this.pos);
    this.pos += 4;
  }

  fixed64Field(field: number, value: bigint): void {
    if (value === 0n) return;
    this.tag(field, 1);
    this.ensure(8);
    this.buf.writeBigUInt64LE(value, this.pos);
    this.pos += 8;
  }

  private tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }
}

function varintBytes(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}
