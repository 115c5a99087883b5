import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { eventually } from '@distlog/collector/testing';
import type { ClickHouse } from '@distlog/collector/storage';
import type { CollectorProcess } from '../support/collector-process';
import { collectorWithDatabase, stopCollectorAndDatabase } from '../support/collector-process';
import { launchChromium } from '../support/browser';
import { temporaryDir } from '../support/temp-dir';

/**
 * A browser app's own OpenTelemetry exporters send OTLP/HTTP from its pages to the
 * collector, another origin: the collector answers the browser's preflight for the origins
 * `receivers.http.cors.allowedOrigins` allows, and refuses the others, saying so in its log
 * (the page itself only sees "Failed to fetch"). A real Chromium makes the requests.
 */
let ch: ClickHouse;
let collector: CollectorProcess;
let browser: Browser;
let page: http.Server;
let pagePort: number;

beforeAll(async () => {
  const config = path.join(temporaryDir('distlog-cors-'), 'collector.yaml');
  writeFileSync(config, "receivers:\n  http:\n    cors:\n      allowedOrigins: ['http://127.0.0.1:*']\n");
  ({ ch, collector } = await collectorWithDatabase('e2e_cors', { config }));
  page = http.createServer((_req, res) => res.end('<!doctype html><title>shop</title><p>the shop'));
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pagePort = (page.address() as AddressInfo).port;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  page?.close();
  await stopCollectorAndDatabase(collector, ch);
});

/** From a page at `origin`: POSTs an OTLP/JSON body as the web exporters do; the status, or the browser's error. */
async function sendFrom(origin: string, signal: 'logs' | 'traces', body: unknown): Promise<string> {
  const tab = await browser.newPage();
  try {
    await tab.goto(`${origin}/`);
    return await tab.evaluate(
      async ({ url, text }) => {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: text,
          });
          return `HTTP ${res.status} ${await res.text()}`;
        } catch (err) {
          return String(err);
        }
      },
      { url: `http://127.0.0.1:${collector.httpPort}/v1/${signal}`, text: JSON.stringify(body) },
    );
  } finally {
    await tab.close();
  }
}

const resource = (service: string) => ({
  attributes: [{ key: 'service.name', value: { stringValue: service } }],
});
const now = () => String(BigInt(Date.now()) * 1_000_000n);

it('a page from an allowed origin sends logs and spans, and reads the answers', async () => {
  const traceId = 'ab12'.repeat(8);
  const logs = await sendFrom(`http://127.0.0.1:${pagePort}`, 'logs', {
    resourceLogs: [
      {
        resource: resource('shop-web'),
        scopeLogs: [
          {
            logRecords: [
              {
                timeUnixNano: now(),
                severityNumber: 17,
                body: { stringValue: 'checkout button failed' },
                traceId,
                spanId: 'cd34'.repeat(4),
              },
            ],
          },
        ],
      },
    ],
  });
  expect(logs).toBe('HTTP 200 {}');
  const spans = await sendFrom(`http://127.0.0.1:${pagePort}`, 'traces', {
    resourceSpans: [
      {
        resource: resource('shop-web'),
        scopeSpans: [
          {
            spans: [
              {
                traceId,
                spanId: 'cd34'.repeat(4),
                name: 'click checkout',
                startTimeUnixNano: now(),
                endTimeUnixNano: now(),
              },
            ],
          },
        ],
      },
    ],
  });
  expect(spans).toBe('HTTP 200 {}');
  await eventually(async () => {
    const rows = await ch.query<{ b: string }>(
      `SELECT Body AS b FROM ${ch.database}.all_logs WHERE ServiceName = 'shop-web' ORDER BY b`,
    );
    return (
      rows.length === 2 &&
      rows[0].b === 'checkout button failed' &&
      rows[1].b.startsWith('click checkout finished')
    );
  });
});

it('a page from another origin is refused at the preflight, and the collector says which origin', async () => {
  const answer = await sendFrom(`http://localhost:${pagePort}`, 'logs', {
    resourceLogs: [
      { resource: resource('evil-web'), scopeLogs: [{ logRecords: [{ body: { stringValue: 'x' } }] }] },
    ],
  });
  expect(answer).toMatch(/TypeError: Failed to fetch/);
  await eventually(async () => collector.stderr().includes(`"origin":"http://localhost:${pagePort}"`));
  expect(collector.stderr()).toContain('add it to receivers.http.cors.allowedOrigins');
  const [{ n }] = await ch.query<{ n: string }>(
    `SELECT count() AS n FROM ${ch.database}.all_logs WHERE ServiceName = 'evil-web'`,
  );
  expect(Number(n)).toBe(0);
});
