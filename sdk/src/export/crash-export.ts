// The sender a dying process runs synchronously (crashes.ts): reads serialized
// ExportLogsServiceRequests from stdin (framed: sized-requests.ts framedRequests; more than
// one where the records were more than one request's size) and delivers it with the SDK's own OTLP delivery
// (OTEL_EXPORTER_OTLP_* settings inherited: headers, TLS, client certificates).
// argv: protocol, endpoint ('' = from the environment). Exit code 0 = delivered.
import { readFileSync } from 'node:fs';
import { ExportResultCode } from '@opentelemetry/core';
import type { OtlpProtocol } from '../config';
import { createSerializedExporter } from './exporters';
import { unframeRequests } from './sized-requests';

const [protocol, endpoint] = process.argv.slice(2);
const exporter = createSerializedExporter(protocol as OtlpProtocol, endpoint || undefined);
const requests = unframeRequests(readFileSync(0));
const next = (i: number): void => {
  if (i >= requests.length) process.exit(0);
  exporter.export(requests[i], (result) => {
    if (result.code === ExportResultCode.SUCCESS) return next(i + 1);
    process.stderr.write(result.error?.message ?? 'export failed');
    process.exit(1);
  });
};
next(0);
