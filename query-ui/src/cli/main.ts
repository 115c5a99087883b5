#!/usr/bin/env node
// First: it acts before the other modules load (see there).
import './heap-settings';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMMANDS } from './registry';
import { UsageError } from './settings';

/** `distlog 0.1.0 (Node v20.20.2)`: this package's version (its package.json, above src/ and dist/). */
function version(): string {
  const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as {
    version: string;
  };
  return `distlog ${pkg.version} (Node ${process.version})`;
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'distlog — distributed structured logging on OpenTelemetry and ClickHouse',
    '',
    'usage: distlog <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `distlog <command> --help` for the options of one command; `distlog --version` for the version.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(version() + '\n');
    return 0;
  }
  // `distlog help search` as `distlog search --help`.
  if (name === 'help' && args[0] !== undefined && COMMANDS[args[0]]) return main([args[0], '--help']);
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(help() + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`distlog: unknown command ${JSON.stringify(name)}\n\n${help()}\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.summary}\nusage: ${command.usage}\n`);
    return 0;
  }
  return command.run(args);
}

// A reader that stops reading (`distlog tail | head`) ends the command quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? 0 : 1));

main(process.argv.slice(2)).then(
  (code) => exitAfterOutput(code),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`distlog: ${message}\n`);
    exitAfterOutput(err instanceof UsageError ? 2 : 1);
  },
);

/**
 * Exits once what was written to stdout and stderr has gone out. process.exit() at once drops
 * what a pipe has not taken yet: `distlog search --json | jq` lost everything past 64 KiB.
 */
function exitAfterOutput(code: number): void {
  let waiting = 0;
  const done = () => {
    if (--waiting === 0) process.exit(code);
  };
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.writableLength === 0) continue;
    waiting++;
    stream.write('', done);
  }
  if (waiting === 0) process.exit(code);
}
