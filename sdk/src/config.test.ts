import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { controlTransport, resolveControlEndpoint } from './config';

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

describe('resolveControlEndpoint (level rules come from where the logs go)', () => {
  const resolve = (env: Record<string, string>, protocol: 'grpc' | 'http/protobuf' = 'grpc', options = {}) =>
    resolveControlEndpoint(options, protocol, env);

  it('gRPC: the exporter’s own address, any port, TLS kept', () => {
    expect(resolve({})).toEqual({ protocol: 'grpc', endpoint: 'http://localhost:4317' });
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://logs.example.com:9443' })).toEqual({
      protocol: 'grpc',
      endpoint: 'https://logs.example.com:9443',
    });
    expect(
      resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://b:2' }),
    ).toEqual({ protocol: 'grpc', endpoint: 'http://b:2' });
  });

  it('HTTP: the base URL of the logs endpoint, with a proxy’s path prefix kept', () => {
    expect(resolve({}, 'http/protobuf')).toEqual({ protocol: 'http', endpoint: 'http://localhost:4318' });
    expect(resolve({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://gw/otlp/' }, 'http/protobuf').endpoint).toBe(
      'https://gw/otlp',
    );
    expect(
      resolve({ OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://gw/otlp/v1/logs' }, 'http/protobuf').endpoint,
    ).toBe('https://gw/otlp');
  });

  it('DISTLOG_CONTROL_ENDPOINT or the option overrides it (an HTTP base URL)', () => {
    expect(
      resolve({ DISTLOG_CONTROL_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:1' }),
    ).toEqual({
      protocol: 'http',
      endpoint: 'http://c:4318',
    });
    expect(resolve({}, 'grpc', { controlEndpoint: 'http://d:1' })).toEqual({
      protocol: 'http',
      endpoint: 'http://d:1',
    });
  });
});
