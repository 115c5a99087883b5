import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { controlTransport } from './config';

describe('controlTransport (the level-control connection reuses the OTLP exporter settings)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'distlog-config-'));
  const file = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };

  it('takes headers, the CA and, for mutual TLS, the client certificate and key', () => {
    const t = controlTransport({
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20k3y,x-team=shop',
      OTEL_EXPORTER_OTLP_CERTIFICATE: file('ca.pem', 'CA'),
      OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: file('client.pem', 'CERT'),
      OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY: file('client.key', 'KEY'),
    });
    expect(t.headers).toEqual({ Authorization: 'Bearer k3y', 'x-team': 'shop' });
    expect([t.ca, t.cert, t.key].map((b) => b?.toString())).toEqual(['CA', 'CERT', 'KEY']);
  });

  it('a certificate without its key, or a file that cannot be read, is left out without throwing', () => {
    const t = controlTransport({
      OTEL_EXPORTER_OTLP_CERTIFICATE: path.join(dir, 'missing.pem'),
      OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: file('only.pem', 'CERT'),
    });
    expect(t).toEqual({ headers: {} });
  });
});
