import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ClickHouse } from '@distlog/collector/storage';
import { encodeLogsRequest, logsServiceDefinition } from '@distlog/collector';
import { eventually } from '@distlog/collector/testing';
import { makeRow } from '@distlog/collector/model';
import type { QueryServer } from '@distlog/query-ui';
import type { CollectorProcess } from '../support/collector-process';
import { runFixture } from '../support/collector-process';
import { startSecureStack, stopSecureStack } from '../support/secure-stack';
import type { TestCertificates } from '../support/certs';
import { issueClientCertificate, makeCertificates } from '../support/certs';
import { otlpJson } from '../support/otlp-json';

/**
 * Mutual TLS (`tls.clientCaFile`): the collector's gRPC and HTTP ports take only clients
 * with a certificate from the configured authority — an SDK app configured by the
 * standard OTEL_EXPORTER_OTLP_CLIENT_* variables, a plain HTTPS client, and the query
 * server calling the collector for level control. Certificates come from the test's own
 * CA (and a second, foreign one) made with openssl.
 */
const tag = randomBytes(4).toString('hex');
let certs: TestCertificates;
let client: { certFile: string; keyFile: string };
let foreign: { certFile: string; keyFile: string };
let ch: ClickHouse;
let collector: CollectorProcess;
let ui: QueryServer;

beforeAll(async () => {
  certs = makeCertificates();
  client = issueClientCertificate(certs, 'app');
  foreign = issueClientCertificate(makeCertificates(), 'intruder');
  const configFile = path.join(certs.dir, 'collector.yaml');
  writeFileSync(
    configFile,
    `tls:
  certFile: ${certs.certFile}
  keyFile: ${certs.keyFile}
  caFile: ${certs.caFile}
  clientCaFile: ${certs.caFile}
  clientCertFile: ${client.certFile}
  clientKeyFile: ${client.keyFile}
`,
  );
  ({ ch, collector, ui } = await startSecureStack('e2e_mtls', configFile));
}, 60_000);

afterAll(() => stopSecureStack({ ch, collector, ui }));

const pem = (file: string) => readFileSync(file);

function post(body: string, identity?: { certFile: string; keyFile: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `https://127.0.0.1:${collector.httpPort}/v1/logs`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        ca: certs.ca,
        ...(identity ? { cert: pem(identity.certFile), key: pem(identity.keyFile) } : {}),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(otlpJson('mtls-http', [{ body: `${tag} ${body}` }]));
  });
}

function grpcExport(body: string, identity?: { certFile: string; keyFile: string }): Promise<void> {
  const Client = grpc.makeGenericClientConstructor(logsServiceDefinition(), 'LogsService');
  const credentials = identity
    ? grpc.credentials.createSsl(certs.ca, pem(identity.keyFile), pem(identity.certFile))
    : grpc.credentials.createSsl(certs.ca);
  const c = new Client(`127.0.0.1:${collector.grpcPort}`, credentials);
  const now = BigInt(Date.now()) * 1_000_000n;
  const request = encodeLogsRequest([
    makeRow({ service: 'mtls-grpc', body: `${tag} ${body}`, timeUnixNano: now, observedTimeUnixNano: now }),
  ]);
  return new Promise<void>((resolve, reject) =>
    c.makeUnaryRequest(
      '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
      { deadline: Date.now() + 5000 },
      (err: grpc.ServiceError | null) => (err ? reject(err) : resolve()),
    ),
  ).finally(() => c.close());
}

async function storedBodies(): Promise<string[]> {
  const rows = await ch.query<{ Body: string }>(
    `SELECT Body FROM ${ch.database}.all_logs WHERE Body LIKE '${tag} %' ORDER BY Body`,
  );
  return rows.map((r) => r.Body.slice(tag.length + 1));
}

describe('mutual TLS on the collector', () => {
  it('OTLP/HTTP: no client certificate or one from another authority is refused at the handshake; ours is served', async () => {
    await expect(post('no certificate')).rejects.toThrow();
    await expect(post('foreign certificate', foreign)).rejects.toThrow();
    expect(await post('our certificate', client)).toBe(200);
  });

  it('gRPC: the same — refused without our certificate, served with it', async () => {
    await expect(grpcExport('grpc no certificate')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await expect(grpcExport('grpc foreign certificate', foreign)).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    await grpcExport('grpc our certificate', client);
  });

  it('an SDK app with only the standard OTEL_EXPORTER_OTLP_* variables sends and follows level rules over mutual TLS', async () => {
    for (const protocol of ['grpc', 'http/protobuf']) {
      const port = protocol === 'grpc' ? collector.grpcPort : collector.httpPort;
      const service = `mtls-sdk-${protocol.replace('/', '-')}`;
      // The rule travels back over the same endpoint and protocol, with the same certificates.
      const rule = await new Promise<number>((resolve, reject) => {
        https
          .request(
            `https://127.0.0.1:${collector.httpPort}/v1/levels`,
            {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              ca: certs.ca,
              cert: pem(client.certFile),
              key: pem(client.keyFile),
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode!));
            },
          )
          .on('error', reject)
          .end(JSON.stringify({ service, logger: 'secure', level: 'debug', setBy: 'test' }));
      });
      expect(rule).toBe(201);
      const [out] = await runFixture('secure-app.js', {
        FIXTURE_TAG: `${tag} sdk ${protocol}`,
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: `https://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_EXPORTER_OTLP_CERTIFICATE: certs.caFile,
        OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: client.certFile,
        OTEL_EXPORTER_OTLP_CLIENT_KEY: client.keyFile,
      });
      expect({ protocol, level: out.level }).toEqual({ protocol, level: 'debug' });
    }
    const bodies = await eventually(async () => {
      const b = await storedBodies();
      return b.filter((x) => x.startsWith('sdk')).length === 4 ? b : undefined;
    });
    expect(bodies).toEqual([
      'grpc our certificate',
      'our certificate',
      'sdk grpc debug after the rule',
      'sdk grpc info over tls',
      'sdk http/protobuf debug after the rule',
      'sdk http/protobuf info over tls',
    ]);
  });

  it('the query server presents its client certificate when it asks the collector for levels', async () => {
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      https
        .get(`https://127.0.0.1:${ui.port}/api/levels`, { ca: certs.ca }, (r) => {
          let text = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => (text += c));
          r.on('end', () => resolve({ status: r.statusCode!, text }));
        })
        .on('error', reject);
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toHaveProperty('rules');
  });
});
