import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Browser, Page, Response } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import type { ClickHouse } from '@distlog/collector/storage';
import { dropTestDatabase, eventually } from '@distlog/collector/testing';
import { buildApp } from '@distlog/query-ui';
import type { CollectorProcess } from '../support/collector-process';
import { collectorWithShopData } from '../support/shop';
import { otlpJson, postCallWithClockBehind, postJson } from '../support/otlp-json';
import { launchChromium } from '../support/browser';
import { listGhostCollector } from '../support/registry';
import { PrefixProxy } from '../support/prefix-proxy';

/**
 * The web UI in a real browser: Debian's Chromium driven by playwright-core (no browser
 * download). Screenshots go to tests/test-output/screenshots/.
 */
const SHOTS = path.resolve(__dirname, '../test-output/screenshots');

let ch: ClickHouse;
let collector: CollectorProcess;
let app: FastifyInstance;
let base: string;
let browser: Browser;
let page: Page;
let traces: string[];

jest.setTimeout(120_000);

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ({ ch, collector, traces } = await collectorWithShopData('e2e_web'));
  app = await buildApp({ ch, collectorUrl: `http://127.0.0.1:${collector.httpPort}` });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  browser = await launchChromium();
  // A zone other than UTC (CI's): times shown and picked must not depend on it.
  page = await browser.newPage({ viewport: { width: 1400, height: 900 }, timezoneId: 'America/New_York' });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await collector?.stop();
  await dropTestDatabase(ch);
});

describe('web UI', () => {
  it('searches by service and severity, opens a record, filters by an attribute value', async () => {
    await page.goto(`${base}/`);
    // The service picker is filled from the facets of the time range.
    await page.waitForFunction(() =>
      [...document.querySelectorAll('select[aria-label=service] option')].some(
        (o) => o.textContent === 'payments',
      ),
    );
    // The dropdowns build the query in the search box.
    await page.getByLabel('service').selectOption('payments');
    await page.waitForURL(/q=service%3Apayments/);
    await page.getByLabel('minimum severity').selectOption('INFO');
    await page.waitForURL(/severity%3E%3Dinfo/);
    await expect(page.getByLabel('query').inputValue()).resolves.toBe('service:payments severity>=info');
    // The table shows the previous results until the new ones arrive: wait for the filtered page.
    await page
      .waitForFunction(() => {
        const cells = [...document.querySelectorAll('[data-testid=result-row] .c-svc')];
        return cells.length > 0 && cells.every((c) => c.textContent === 'payments');
      })
      .catch(() => undefined);
    const services = await page.locator('[data-testid=result-row] .c-svc').allTextContents();
    expect(services.length).toBeGreaterThan(3);
    expect(new Set(services)).toEqual(new Set(['payments']));
    await page.screenshot({ path: path.join(SHOTS, 'search.png') });

    await page.locator('[data-testid=result-row]', { hasText: 'charged' }).first().click();
    const detail = page.getByTestId('detail');
    await detail.waitFor();
    await expect(detail.textContent()).resolves.toContain('service.instance.id');
    // The record clicked, not another of the same instance and millisecond (the scope's end
    // is written in the same millisecond: record ids once named both).
    await expect(detail.textContent()).resolves.toContain('charged {');
    await page.screenshot({ path: path.join(SHOTS, 'record.png') });
    // Click an attribute's value: the search narrows to records with that value.
    const orderId = (await detail
      .locator('[data-testid=attributes] tr', { hasText: 'orderId' })
      .locator('td')
      .textContent())!;
    await detail.locator('[data-testid=attributes] tr', { hasText: 'orderId' }).getByRole('button').click();
    await page.waitForURL(new RegExp(`orderId%3A${orderId}`));
    await page.waitForFunction(
      (id) =>
        (document.querySelector('input[aria-label=query]') as HTMLInputElement).value.endsWith(
          `orderId:${id}`,
        ) &&
        [...document.querySelectorAll('[data-testid=result-row] .c-body')].some((b) =>
          b.textContent?.startsWith(`charging 12.5 EUR for order ${id}`),
        ),
      orderId,
    );
    const bodies = await page.locator('[data-testid=result-row] .c-body').allTextContents();
    expect(bodies.some((b) => b.startsWith(`charging 12.5 EUR for order ${orderId}`))).toBe(true);
    // An absolute time range replaces the relative one, in the URL too.
    await page.getByLabel('from').fill('2020-01-01T00:00');
    await page.waitForURL(/from=2020-01-01T/);
    expect(new URL(page.url()).searchParams.get('since')).toBeNull();
    expect(new URL(page.url()).searchParams.get('to')).toBeTruthy();
    // In UTC, as the results show times — not in the browser's zone (New York here).
    expect(new URL(page.url()).searchParams.get('from')).toBe('2020-01-01T00:00:00.000Z');
    await expect(page.getByLabel('from').inputValue()).resolves.toBe('2020-01-01T00:00');
  });

  it('answers a question typed in the search language, completes as you type, and points at mistakes', async () => {
    await page.goto(`${base}/?since=1h`);
    const box = page.getByLabel('query');
    await box.waitFor();
    // Completion: a field name, then its value from the services in the range.
    await box.click();
    await box.pressSequentially('serv');
    await expect(page.getByTestId('completions').textContent()).resolves.toContain('service:');
    await box.press('Tab');
    await expect(box.inputValue()).resolves.toBe('service:');
    await box.pressSequentially('pay');
    await page.getByTestId('completions').getByText('service:payments').waitFor();
    await box.press('Tab');
    await expect(box.inputValue()).resolves.toBe('service:payments');
    // The example question, in the shop's terms: WARN or worse from gateway or orders, about
    // the refused order, whose message says refused or failed, leaving out the scope records — one line.
    const [refused] = await ch.query<{ id: string }>(
      `SELECT LogAttributes.value[indexOf(LogAttributes.key, 'orderId')] AS id FROM ${ch.database}.all_logs
       WHERE ServiceName = 'gateway' AND Body = 'checkout refused' LIMIT 1`,
    );
    await box.fill(
      `severity>=warn (service:gateway OR service:orders) orderId:${refused.id} (refused OR failed) -logger:distlog.scope`,
    );
    const [raw] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.all_logs WHERE SeverityNumber >= 13 AND ServiceName IN ('gateway', 'orders')
       AND LogAttributes.value[indexOf(LogAttributes.key, 'orderId')] = '${refused.id}'
       AND (positionCaseInsensitive(Body, 'refused') > 0 OR positionCaseInsensitive(Body, 'failed') > 0)
       AND ScopeName != 'distlog.scope'`,
    );
    await box.press('Enter');
    await page.waitForURL(/q=severity/);
    // The previous results stay until the new ones arrive: wait for exactly the matching rows.
    await page.waitForFunction((n) => {
      const rows = [...document.querySelectorAll('[data-testid=result-row]')];
      return (
        rows.length === n &&
        rows.every((r) => /WARN|ERROR|FATAL/.test(r.querySelector('.c-sev')!.textContent ?? ''))
      );
    }, Number(raw.n));
    const rows = await page
      .locator('[data-testid=result-row]')
      .evaluateAll((els) =>
        els.map((e) => [
          e.querySelector('.c-svc')!.textContent,
          e.querySelector('.c-sev')!.textContent,
          e.querySelector('.c-body')!.textContent,
        ]),
      );
    expect(rows).toHaveLength(Number(raw.n));
    expect(rows.map(([svc, , body]) => `${svc}: ${body}`).sort()).toEqual([
      'gateway: checkout refused',
      'orders: order failed',
    ]);
    for (const [svc, sev] of rows) {
      expect(['gateway', 'orders']).toContain(svc);
      expect(['WARN', 'ERROR', 'FATAL']).toContain(sev);
    }
    // A mistake: the message names it and the box marks where it is.
    await box.fill('service:orders (timeout');
    await box.press('Enter');
    await page.getByTestId('query-error').waitFor();
    await expect(page.getByTestId('query-error').textContent()).resolves.toContain(
      'this parenthesis is not closed',
    );
    await expect(page.getByTestId('query-error').locator('mark').textContent()).resolves.toBe('(');
  });

  it('counts facets for the query; click keeps a value, Alt-click leaves it out', async () => {
    await page.goto(`${base}/?since=1h`);
    const service = page.locator('[data-facet=service]');
    await service.locator('[data-value=payments]').waitFor();
    const [raw] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.all_logs WHERE ServiceName = 'payments' AND Timestamp >= now() - 3600`,
    );
    await expect(service.locator('[data-value=payments] .facet-count').textContent()).resolves.toBe(raw.n);
    await service.locator('[data-value=orders] .facet-value').click({ modifiers: ['Alt'] });
    await page.waitForURL(/q=-service%3Aorders/);
    await page.waitForFunction(() => !document.querySelector('[data-facet=service] [data-value=orders]'));
    await service.locator('[data-value=payments] .facet-value').click();
    await page.waitForURL(/service%3Apayments/);
    await expect(page.getByLabel('query').inputValue()).resolves.toBe('-service:orders service:payments');
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('[data-testid=result-row] .c-svc')];
      return cells.length > 0 && cells.every((c) => c.textContent === 'payments');
    });
    // Pin an attribute key: its values with counts.
    await page.getByLabel('pin attribute').fill('orderId');
    await page.getByLabel('pin attribute').press('Enter');
    await page.waitForURL(/pin=orderId/);
    await page.locator('[data-facet=orderId] .facet').first().waitFor();
    expect(await page.locator('[data-facet=orderId] .facet').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(SHOTS, 'facets.png') });
  });

  it('finds the failing request from the patterns view in three clicks', async () => {
    await page.goto(`${base}/`);
    // 1: Patterns. 2: most errors first. 3: the failing pattern's newest request.
    await page.getByRole('link', { name: 'Patterns', exact: true }).click();
    await page.getByTestId('pattern-table').waitFor();
    await page.getByLabel('most errors first').check();
    await page.waitForURL(/sort=errors/);
    const first = page.locator('[data-testid=pattern-table] tbody tr').first();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid=pattern-table] tbody tr')?.classList.contains('has-errors'),
    );
    await page.screenshot({ path: path.join(SHOTS, 'patterns.png') });
    await first.getByTestId('follow-newest').click();
    await page.waitForURL(/\/trace\/[0-9a-f]{32}/);
    const traceId = /\/trace\/([0-9a-f]{32})/.exec(page.url())![1];
    // It is the request that failed: its records hold the error.
    const [failed] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.all_logs WHERE TraceId = '${traceId}' AND SeverityNumber >= 17`,
    );
    expect(Number(failed.n)).toBeGreaterThan(0);
    await page.getByText('unobtainium is out of stock').first().waitFor();

    // A pattern's template opens its records in the search.
    await page.goBack();
    await page.getByTestId('pattern-table').waitFor();
    const template = page.locator('[data-testid=pattern-table] tbody tr .template', {
      hasText: 'charging <num> EUR',
    });
    await template.click();
    await page.waitForURL(/q=pattern%3A[0-9a-f]+/);
    await page.waitForFunction(() => {
      const bodies = [...document.querySelectorAll('[data-testid=result-row] .c-body')];
      return (
        bodies.length > 0 &&
        bodies.every((b) => /^charging [\d.]+ EUR for order \d+$/.test(b.textContent ?? ''))
      );
    });
  });

  it('is driven from the keyboard: / to the query, j and k through the results, Enter, t', async () => {
    await page.goto(`${base}/?since=1h&q=${encodeURIComponent('service:gateway "checkout refused"')}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=result-row]').length > 0);
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('/');
    await expect(page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).resolves.toBe(
      'query',
    );
    await page.keyboard.press('Escape');
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.getByTestId('detail').waitFor();
    expect(new URL(page.url()).searchParams.get('record')).toBeTruthy();
    await page.keyboard.press('t');
    await page.waitForURL(/\/trace\/[0-9a-f]{32}/);
  });

  it('follows a request to its trace page: the scope tree across three services', async () => {
    await page.goto(`${base}/?service=orders&text=${encodeURIComponent('order failed')}`);
    await page.locator('[data-testid=result-row]').first().click();
    await page.getByTestId('follow').click();
    await page.waitForURL(new RegExp(`/trace/${traces[4]}`));
    const tree = page.getByTestId('scope-tree');
    await tree.waitFor();
    const scopes = await page
      .locator('[data-testid=scope]')
      .evaluateAll((els) =>
        els.map((e) => [
          e.getAttribute('data-name'),
          e.getAttribute('data-service'),
          e.getAttribute('data-status'),
        ]),
      );
    expect(scopes).toEqual([
      ['GET /checkout', 'gateway', 'ok'],
      ['create order', 'gateway', 'ok'],
      ['POST /orders', 'orders', 'ok'],
      ['validate order', 'orders', 'ok'],
      ['reserve stock', 'orders', 'error'],
    ]);
    await expect(tree.textContent()).resolves.toContain('unobtainium is out of stock');
    await page.screenshot({ path: path.join(SHOTS, 'trace-failed.png'), fullPage: true });
    await page.goto(`${base}/trace/${traces[0]}`);
    await page.getByTestId('scope-tree').waitFor();
    const services = await page
      .locator('[data-testid=scope]')
      .evaluateAll((els) => [...new Set(els.map((e) => e.getAttribute('data-service')))]);
    expect(services).toEqual(['gateway', 'orders', 'payments']);
    await page.screenshot({ path: path.join(SHOTS, 'trace.png'), fullPage: true });
  });

  it("notes on the trace page when a service's clock is evidently behind its caller's", async () => {
    const traceId = await postCallWithClockBehind(
      collector.httpPort,
      { service: 'ui-gateway', scope: 'GET /' },
      { service: 'ui-late', scope: 'work' },
      500,
    );
    await eventually(async () => {
      const trace = await (await fetch(`${base}/api/trace/${traceId}`)).json();
      return trace.records?.length === 2;
    }, 20_000);
    await page.goto(`${base}/trace/${traceId}`);
    await page.getByTestId('clock-note').waitFor({ timeout: 20_000 });
    await expect(page.getByTestId('clock-note').textContent()).resolves.toContain(
      "ui-late's clock is at least 500 ms behind ui-gateway's",
    );
  });

  it('live tail shows a record sent after the page opened, filtered, and pauses', async () => {
    const tag = randomUUID().slice(0, 8);
    await page.goto(`${base}/tail`);
    // The search's filter bar: one query in the search language (records that say "noise" are left out).
    await page.getByLabel('query').fill('service:tail-ui -noise');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/\/tail\?q=service%3Atail-ui\+-noise$/);
    await page.waitForFunction(
      () => document.querySelector('[data-testid=tail-state]')?.textContent === 'live',
    );
    await postJson(collector.httpPort, otlpJson('other-service', [{ body: `${tag} filtered out` }]));
    await postJson(
      collector.httpPort,
      otlpJson('tail-ui', [
        { body: `${tag} noise`, severityNumber: 13 },
        { body: `${tag} arrived live`, severityNumber: 13 },
      ]),
    );
    await page
      .locator('[data-testid=tail-line]', { hasText: `${tag} arrived live` })
      .waitFor({ timeout: 15_000 });
    // Sent with a severity number only: the line names it.
    await expect(
      page.locator('[data-testid=tail-line]', { hasText: `${tag} arrived live` }).textContent(),
    ).resolves.toMatch(/WARN/);
    expect(await page.locator('[data-testid=tail-line]', { hasText: `${tag} filtered out` }).count()).toBe(0);
    expect(await page.locator('[data-testid=tail-line]', { hasText: `${tag} noise` }).count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'tail.png') });
    await page.getByRole('button', { name: 'Pause' }).click();
    await postJson(collector.httpPort, otlpJson('tail-ui', [{ body: `${tag} while paused` }]));
    await page.waitForTimeout(1500);
    expect(await page.locator('[data-testid=tail-line]', { hasText: `${tag} while paused` }).count()).toBe(0);
  });

  it('sets a run-time level from the Levels panel', async () => {
    await page.goto(`${base}/levels`);
    await page.getByLabel('level service').fill('payments');
    await page.getByLabel('level logger').fill('console');
    await page.getByLabel('level', { exact: true }).selectOption('warn');
    await page.getByRole('button', { name: 'Set level' }).click();
    const rules = page.getByTestId('level-rules');
    await rules.locator('tr', { hasText: 'payments' }).waitFor();
    await expect(rules.locator('tr', { hasText: 'payments' }).textContent()).resolves.toMatch(
      /paymentsconsolewarn.*web UI/,
    );
    // The shop's processes have ended: the rule is set, and the page says it reaches none now.
    await expect(page.getByTestId('level-notes').textContent()).resolves.toContain(
      'Set, but: no connected process of service "payments" follows level rules now',
    );
    await page.screenshot({ path: path.join(SHOTS, 'levels.png') });
    await rules.locator('tr', { hasText: 'payments' }).getByRole('button', { name: 'Clear' }).click();
    await page.waitForFunction(() => !document.querySelector('[data-testid=level-rules] tbody tr'));
    // DEBUG kept until a request fails: the checkbox makes an onError rule, shown as such.
    await page.getByLabel('level service').fill('orders');
    await page.getByLabel('level logger').fill('*');
    await page.getByLabel('level', { exact: true }).selectOption('debug');
    await page.getByLabel('only when the request fails').check();
    await page.getByRole('button', { name: 'Set level' }).click();
    await rules.locator('tr', { hasText: 'orders' }).waitFor();
    await expect(rules.locator('tr', { hasText: 'orders' }).textContent()).resolves.toMatch(
      /orders\*debug, sent on error.*web UI/,
    );
    await rules.locator('tr', { hasText: 'orders' }).getByRole('button', { name: 'Clear' }).click();
    await page.waitForFunction(() => !document.querySelector('[data-testid=level-rules] tbody tr'));
  });

  it('charts a declared metric: p95 of one scope per service, with the counts the raw records give', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('link', { name: 'Metrics' }).click();
    await page.getByLabel('metric', { exact: true }).waitFor();
    await page.waitForFunction(() =>
      [...document.querySelectorAll('select[aria-label=metric] option')].some(
        (o) => o.textContent === 'scope_duration_ms',
      ),
    );
    await page.getByLabel('metric', { exact: true }).selectOption('scope_duration_ms');
    await page.getByLabel('metric range').selectOption('6h');
    // Group by service only, for one scope name.
    await page.getByLabel('scope.name').uncheck();
    await page.getByLabel('metric filter').fill('scope.name=charge card');
    await page.getByLabel('metric filter').press('Enter');
    await page.waitForURL(/where=scope.name%3Dcharge/);
    await page.getByLabel('statistic').selectOption('p95');
    await page.waitForURL(/stat=p95/);
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid=metric-table] tbody tr')];
      return rows.length === 1 && rows[0].textContent!.includes('service.name=payments');
    });
    const [raw] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.all_logs
       WHERE EventName = 'distlog.scope.end' AND LogAttributes.value[indexOf(LogAttributes.key, 'scope.name')] = 'charge card'`,
    );
    // The p95 column fills when the answer for p95 arrives.
    await page.waitForFunction(() =>
      /^[\d.]+$/.test(
        document.querySelectorAll('[data-testid=metric-table] tbody tr td')[3]?.textContent ?? '',
      ),
    );
    const cells = await page.locator('[data-testid=metric-table] tbody tr td').allTextContents();
    expect(cells[1]).toBe('service.name=payments');
    expect(Number(cells[2])).toBe(Number(raw.n));
    expect(Number(cells[3])).toBeGreaterThan(0);
    await expect(
      page.locator('[data-testid=line-chart] [data-series="service.name=payments"] circle').count(),
    ).resolves.toBeGreaterThan(0);
    // The URL holds the whole view: opening it again shows the same.
    const url = page.url();
    expect(url).toMatch(/metric=scope_duration_ms.*stat=p95/);
    await page.goto(url);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=metric-table] tbody tr').length === 1,
    );
    await page.screenshot({ path: path.join(SHOTS, 'metrics.png') });
  });

  it('shows the running collectors on the Status page, as `distlog status` does', async () => {
    await page.goto(`${base}/status`);
    const row = page.locator('[data-testid=status-collector]', { hasText: `:${collector.httpPort}` });
    await row.waitFor();
    expect(await row.getAttribute('data-ready')).toBe('true');
    const { version } = JSON.parse(
      readFileSync(path.resolve(__dirname, '../../collector/package.json'), 'utf8'),
    );
    await expect(row.textContent()).resolves.toContain(version);
    await page.getByText('All collectors ready, nothing waiting.').waitFor();
    expect(await page.locator('[data-testid=status-problem]').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'status.png') });

    // A collector listed as running that does not answer: named above the table.
    const ghost = `ghost-${randomUUID().slice(0, 8)}`;
    const forget = await listGhostCollector(ch, ghost);
    try {
      await page.reload();
      const problem = page.locator('[data-testid=status-problem]', { hasText: ghost });
      await problem.waitFor();
      await expect(problem.textContent()).resolves.toContain(
        `collector ${ghost} at http://127.0.0.1:1 does not answer`,
      );
      expect(
        await page.locator('[data-testid=status-collector]', { hasText: ghost }).getAttribute('data-ready'),
      ).toBe('unknown');
    } finally {
      await forget();
    }
  });

  it('works behind a reverse proxy at a path: a search, a trace by link and afresh, the live tail', async () => {
    // The proxy strips its path and says it in X-Forwarded-Prefix; the query server needs no setting.
    const proxy = new PrefixProxy(base, '/ops/distlog');
    const front = await proxy.start();
    const failed: string[] = [];
    const onResponse = (r: Response) => void (r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
    page.on('response', onResponse);
    try {
      await page.goto(`${front}/ops/distlog/?service=orders&text=${encodeURIComponent('order failed')}`);
      await page.locator('[data-testid=result-row]').first().click();
      await page.getByTestId('follow').click();
      await page.waitForURL(`${front}/ops/distlog/trace/${traces[4]}?record=*`);
      await page.getByTestId('scope-tree').waitFor();
      // A deep link opened afresh (a bookmark, a reload) finds its files and its data too.
      await page.reload();
      await page.getByTestId('scope-tree').waitFor();
      expect(await page.locator('[data-testid=scope]').count()).toBe(5);
      // The navigation stays under the path; the live tail's stream passes through the proxy.
      expect(await page.locator('nav a', { hasText: 'Patterns' }).getAttribute('href')).toBe(
        '/ops/distlog/patterns',
      );
      await page.locator('nav a', { hasText: 'Live tail' }).click();
      await page.waitForURL(`${front}/ops/distlog/tail`);
      await page.waitForFunction(
        () => document.querySelector('[data-testid=tail-state]')?.textContent === 'live',
      );
      const tag = randomUUID().slice(0, 8);
      await postJson(collector.httpPort, otlpJson('proxied', [{ body: `${tag} through the proxy` }]));
      await page
        .locator('[data-testid=tail-line]', { hasText: `${tag} through the proxy` })
        .waitFor({ timeout: 15_000 });
      expect(failed).toEqual([]);
    } finally {
      page.off('response', onResponse);
      await proxy.stop();
    }
  });

  it('keeps the results table virtualised with 100 000 rows', async () => {
    const total = 100_000;
    const batch = 10_000;
    const start = BigInt(Date.now() - 60_000) * 1_000_000n;
    for (let b = 0; b < total / batch; b++) {
      const res = await postJson(
        collector.httpPort,
        otlpJson(
          'bulk',
          Array.from({ length: batch }, (_, i) => {
            const n = b * batch + i;
            return {
              body: `bulk record ${n}`,
              timeUnixNano: String(start + BigInt(n) * 1000n),
              attributes: { n: String(n) },
            };
          }),
        ),
      );
      expect(res.status).toBe(200);
    }
    await page.goto(`${base}/?service=bulk`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=result-row]').length > 0);
    // Scroll to the end until every page is loaded.
    const loaded = async () =>
      Number(/\((\d+)\+? records\)/.exec((await page.locator('.thead').textContent()) ?? '')?.[1] ?? 0);
    for (let i = 0; i < 40 && (await loaded()) < total; i++) {
      await page.getByTestId('results').evaluate((el) => el.scrollTo(0, el.scrollHeight));
      await page.waitForTimeout(300);
    }
    expect(await loaded()).toBe(total);
    await page.getByTestId('results').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.waitForTimeout(200);
    const domRows = await page.locator('[data-testid=result-row]').count();
    expect(domRows).toBeLessThan(100);
    await expect(page.locator('[data-testid=result-row]').last().textContent()).resolves.toContain(
      'bulk record 0',
    );
  });
});
