import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { createTestDatabase, dropTestDatabase, testClickHouseUrl } from '@distlog/collector/testing';
import { REPO_ROOT, userNpmEnv } from '../support/collector-process';

/**
 * deploy/Dockerfile cannot be built here (no Docker engine). Its steps are checked, and the
 * part that decides what the image holds — pack the packages in the build stage, install the
 * tarballs with production dependencies only in the final one — is run outside Docker with
 * the Dockerfile's own commands; the result must run the collector and pass the image's
 * health check.
 */
const dockerfile = readFileSync(path.join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8');

interface Stage {
  from: string;
  name?: string;
  instructions: Array<{ op: string; args: string }>;
}

/** The Dockerfile's stages, continuation lines joined and comments dropped. */
function stages(): Stage[] {
  const lines = dockerfile
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const result: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line)!;
    if (op === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      result.push({ from, name, instructions: [] });
    } else result.at(-1)?.instructions.push({ op, args });
  }
  return result;
}

const all = stages();
const build = all.find((s) => s.name === 'build')!;
const final = all.at(-1)!;
const run = (stage: Stage) => stage.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
/** The one command of a stage's RUN lines that starts with `prefix`. */
const command = (stage: Stage, prefix: string) =>
  run(stage)
    .join(' && ')
    .split('&&')
    .map((c) => c.trim())
    .find((c) => c.startsWith(prefix))!;

describe('deploy/Dockerfile', () => {
  it('is multi-stage: sources only in the build stage, a non-root final stage with a health check', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(final).not.toBe(build);
    for (const stage of all) expect(stage.from).toMatch(/^(\$\{NODE_IMAGE\}|node:\d+(\.\d+)*-[a-z]+-slim)$/);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-[a-z]+-slim$/m);
    // Every COPY of the final stage comes from the build stage: no source, no workspace.
    const copies = final.instructions.filter((i) => i.op === 'COPY');
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) expect(copy.args).toMatch(/^--from=build\s/);
    const user = final.instructions.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(user).toHaveLength(1);
    expect(user[0]).not.toMatch(/^(root|0)(:|$)/);
    expect(final.instructions.some((i) => i.op === 'HEALTHCHECK' && /CMD/.test(i.args))).toBe(true);
    expect(
      final.instructions
        .find((i) => i.op === 'EXPOSE')
        ?.args.split(/\s+/)
        .sort(),
    ).toEqual(['4317', '4318', '4320']);
    const install = run(final).join(' && ');
    expect(install).toMatch(/npm install .*--omit=dev/);
    expect(install).toMatch(/--omit=optional/);
  });

  it('copies into the build stage only what exists in the repository', () => {
    for (const copy of build.instructions.filter((i) => i.op === 'COPY')) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources)
        expect({ source, exists: existsSync(path.join(REPO_ROOT, source)) }).toEqual({
          source,
          exists: true,
        });
    }
  });

  describe("the final stage's install, run outside Docker", () => {
    let work: string;
    let installed: string;

    beforeAll(async () => {
      work = mkdtempSync(path.join(os.tmpdir(), 'distlog-image-'));
      installed = path.join(work, 'opt');
      const packages = path.join(work, 'packages');
      mkdirSync(installed);
      // The build stage's pack command (its build already ran: `npm test` builds first).
      const pack = command(build, 'npm pack');
      await promisify(execFile)(
        'bash',
        ['-c', `mkdir -p ${packages} && ${pack.replaceAll('/packages', packages)}`],
        {
          cwd: REPO_ROOT,
          env: userNpmEnv(),
        },
      );
      const install = command(final, 'npm install');
      await promisify(execFile)('bash', ['-c', install.replaceAll('/tmp/packages', packages)], {
        cwd: installed,
        env: userNpmEnv(),
        timeout: 240_000,
      });
    }, 300_000);

    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('holds production dependencies only: no chDB, no dev tools, no tests', () => {
      const modules = path.join(installed, 'node_modules');
      for (const absent of [
        'chdb',
        'typescript',
        'jest',
        'turbo',
        'vite',
        'react',
        'fast-check',
        '@distlog/sdk',
      ])
        expect({ absent, present: existsSync(path.join(modules, absent)) }).toEqual({
          absent,
          present: false,
        });
      const files = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)],
        );
      const ours = files(path.join(modules, '@distlog'));
      expect(ours.filter((f) => /\.test\.|\/bench\/|\.map$|\/src\//.test(f))).toEqual([]);
      expect(ours.some((f) => f.endsWith('proto/opentelemetry/proto/logs/v1/logs.proto'))).toBe(true);
    });

    it('runs the collector (the ENTRYPOINT, no chDB) and answers the image health check', async () => {
      const entrypoint = JSON.parse(final.instructions.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
      const bin = entrypoint[1].replace('/opt/distlog', installed);
      const ch = await createTestDatabase('deploy_image');
      const child = spawn(
        process.execPath,
        [
          bin,
          'collector',
          '--clickhouse-url',
          testClickHouseUrl(),
          '--database',
          ch.database,
          '--home',
          work,
          '--grpc-port',
          '0',
          '--http-port',
          '0',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      try {
        const first = await new Promise<string>((resolve, reject) => {
          readline.createInterface({ input: child.stdout! }).once('line', resolve);
          child.once('exit', (code) => reject(new Error(`collector exited with ${code}`)));
        });
        const { httpPort } = JSON.parse(first) as { httpPort: number };
        const health = /CMD\s+(\[.*\])$/.exec(
          final.instructions.find((i) => i.op === 'HEALTHCHECK')!.args,
        )![1];
        const [command, ...args] = JSON.parse(health) as string[];
        expect(command).toBe('node');
        const env = { ...process.env, DISTLOG_HEALTH_URL: `http://127.0.0.1:${httpPort}/readyz` };
        await expect(promisify(execFile)(process.execPath, args, { env })).resolves.toBeDefined();
        // …and it fails when nothing answers.
        const down = { ...process.env, DISTLOG_HEALTH_URL: 'http://127.0.0.1:9/readyz' };
        await expect(promisify(execFile)(process.execPath, args, { env: down })).rejects.toMatchObject({
          code: 1,
        });
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
        await dropTestDatabase(ch);
      }
    });
  });
});
