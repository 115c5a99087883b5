// The sender a dying process runs synchronously (crashes.ts): reads one serialized
// ExportLogsServiceRequest from stdin and delivers it with the SDK's own OTLP delivery
// (OTEL_EXPORTER_OTLP_* settings inherited: headers, TLS, client certificates).
// argv: protocol, endpoint ('' = from the environment). Exit code 0 = delivered.
import { readFileSync } from 'node:fs';
import { ExportResultCode } from '@opentelemetry/core';
import type { OtlpProtocol } from '../config';
import { createSerializedExporter } from './exporters';

const [protocol, endpoint] = process.argv.slice(2);
const exporter = createSerializedExporter(protocol as OtlpProtocol, endpoint || undefined);
exporter.export(new Uint8Array(readFileSync(0)), (result) => {
  if (result.code !== ExportResultCode.SUCCESS)
    process.stderr.write(result.error?.message ?? 'export failed');
  process.exit(result.code === ExportResultCode.SUCCESS ? 0 : 1);
});
