// `npm test`: every workspace's tests, the end-to-end suite beside the packages' own.
// The end-to-end files (tests/) take ~5–6 minutes and spend most of it waiting on processes
// and servers; the packages' tests (~2.5 minutes, collector and query-ui against ClickHouse)
// ran after them one at a time. Side by side a pass takes about as long as the end-to-end
// files alone. Each line is prefixed with its workspace; a summary ends the run, and the
// exit code is non-zero when any workspace failed. Run after the build (package.json).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const PACKAGES = ['@distlog/proto', '@distlog/collector', '@distlog/query-ui', '@distlog/sdk'];
const END_TO_END = '@distlog/tests';
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** One workspace's `npm test`, its output prefixed line by line; resolves to its exit code and seconds. */
function testWorkspace(workspace) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(npm, ['test', '--workspace', workspace, '--silent'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const [stream, out] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ])
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) =>
        out.write(`${workspace}:test: ${line}\n`),
      );
    child.on('error', (error) => {
      process.stderr.write(`${workspace}:test: could not start npm: ${error.message}\n`);
      resolve({ workspace, code: 1, seconds: 0 });
    });
    child.on('close', (code, signal) =>
      resolve({ workspace, code: code ?? (signal ? 1 : 0), seconds: (Date.now() - started) / 1000 }),
    );
  });
}

async function packagesOneByOne() {
  const results = [];
  for (const workspace of PACKAGES) results.push(await testWorkspace(workspace));
  return results;
}

const started = Date.now();
const [endToEnd, packages] = await Promise.all([testWorkspace(END_TO_END), packagesOneByOne()]);
const results = [...packages, endToEnd];
const failed = results.filter((r) => r.code !== 0);
process.stdout.write(
  `\ntests: ${results.map((r) => `${r.workspace} ${r.code === 0 ? 'passed' : 'FAILED'} (${r.seconds.toFixed(0)} s)`).join(', ')}` +
    `; ${((Date.now() - started) / 1000).toFixed(0)} s in all\n`,
);
if (failed.length > 0) {
  process.stderr.write(`failed: ${failed.map((r) => r.workspace).join(', ')}\n`);
  process.exitCode = 1;
}
