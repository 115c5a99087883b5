import { spawn } from 'node:child_process';
import net from 'node:net';
import { REPO_ROOT, collectorForFile, runFixture } from '../support/collector-process';

/**
 * What a newcomer does in the first hour, done the way the README says (issue 13). Each
 * of these once failed silently.
 */
const started = collectorForFile('e2e_first_contact');

function run(
  command: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The collector's count of requests refused as too large, from its /metrics. */
async function tooLargeCount(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${started.collector.httpPort}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('distlog_records_refused_total{') && l.includes('reason="too_large"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Writes a whole request — headers and body — before reading a byte of the answer, as most HTTP clients do. */
function postWholeBodyThenRead(port: number, body: Buffer, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const head =
      `POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      Object.entries({ 'Content-Length': String(body.length), ...headers })
        .filter(([k]) => k !== 'Content-Length' || !headers['Transfer-Encoding'])
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      '\r\n';
    let answer = '';
    socket.on('error', (err) => reject(new Error(`the client saw ${err.message} instead of an answer`)));
    socket.write(head);
    socket.write(body, () => {
      // Only now does this client read.
      socket.on('data', (c) => (answer += c));
      socket.on('end', () => resolve(answer));
    });
  });
}

describe('first contact', () => {
  it('`npx distlog` is the command right after `npm run setup`, as the README says', async () => {
    const help = await run('npx', ['distlog', '--help']);
    expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: '' });
    expect(help.stdout).toContain('usage: distlog <command> [options]');
    const check = await run('npx', ['distlog', 'collector', 'check-config', 'collector/config/default.yaml']);
    expect(check.code).toBe(0);
  });

  it('a 20 MB body from a client that writes it all before reading gets a readable 413, and the port keeps serving', async () => {
    const before = await tooLargeCount();
    const body = Buffer.alloc(20 * 1024 * 1024, 0x61);
    const answer = await postWholeBodyThenRead(started.collector.httpPort, body, {
      'Content-Type': 'application/json',
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/connection: close/i);
    expect(answer).toContain(
      `request body of ${body.length} bytes exceeds the limit of ${16 * 1024 * 1024} bytes`,
    );
    // The same for a body that did not say how long it is (chunked).
    const chunked = await postWholeBodyThenRead(
      started.collector.httpPort,
      Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]),
      { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
    ).catch((err: Error) => err.message);
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /);
    expect(await tooLargeCount()).toBe(before + 2);
    const ok = await fetch(`http://127.0.0.1:${started.collector.httpPort}/v1/logs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"resourceLogs":[]}',
    });
    expect(ok.status).toBe(200);
  });

  it("Python's http.client, which sends the whole body first, reads the 413", async () => {
    const script = [
      'import http.client, sys',
      `c = http.client.HTTPConnection("127.0.0.1", ${started.collector.httpPort}, timeout=30)`,
      'c.request("POST", "/v1/logs", body=b"a" * (20 * 1024 * 1024), headers={"Content-Type": "application/json"})',
      'r = c.getresponse()',
      'print(r.status, r.getheader("Connection"))',
    ].join('\n');
    const python = await run('python3', ['-c', script]);
    expect({ code: python.code, stderr: python.stderr, stdout: python.stdout.trim() }).toEqual({
      code: 0,
      stderr: '',
      stdout: '413 close',
    });
  });

  it.each(['http/protobuf', 'http/json'])(
    'the official OTel %s exporter gets the 413 and drops the batch instead of retrying it',
    async (protocol) => {
      const before = await tooLargeCount();
      const [result] = await runFixture('oversized-export.js', {
        FIXTURE_URL: `http://127.0.0.1:${started.collector.httpPort}/v1/logs`,
        FIXTURE_PROTOCOL: protocol,
        FIXTURE_BYTES: String(20 * 1024 * 1024),
      });
      // ExportResultCode.FAILED, for the 413 itself (not a network error).
      expect(result.code).toBe(1);
      expect(result).toMatchObject({ status: 413, error: 'Payload Too Large' });
      expect(await tooLargeCount()).toBe(before + 1);
    },
  );
});
