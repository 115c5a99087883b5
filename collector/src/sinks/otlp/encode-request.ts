import type { Attributes, LogRow, ResourceInfo, ScopeInfo } from '../../model/log-row';
import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireWriter } from '@distlog/proto';

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

/** The shared wire writer with the few field shapes an OTLP request needs. */
class ProtoWriter extends WireWriter {
  finish(): Buffer {
    return Buffer.from(this.bytes());
  }

  message(field: number, body: () => void): void {
    this.tag(field, WIRE_LEN);
    const at = this.begin();
    body();
    this.end(at);
  }

  /** `always`: written even when empty (an attribute's value is there, empty or not). */
  override stringField(field: number, value: string, always = false): void {
    if (value === '' && !always) return;
    this.tag(field, WIRE_LEN);
    this.string(value);
  }

  bytesField(field: number, value: Buffer): void {
    this.tag(field, WIRE_LEN);
    this.lengthPrefixed(value);
  }

  varintField(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  fixed32Field(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32);
    this.fixed32(value);
  }

  fixed64Field(field: number, value: bigint): void {
    if (value === 0n) return;
    this.tag(field, WIRE_FIXED64);
    this.fixed64(value);
  }
}
