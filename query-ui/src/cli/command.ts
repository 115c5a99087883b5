// The shape of a `distlog` verb, and what the verbs that run servers share: options, signals.
import { parseArgs } from 'node:util';
import { COMMON_OPTIONS, UsageError } from './settings';

export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

export const say = (line: string) => process.stderr.write(line + '\n');

export function parse(args: string[], usage: string) {
  try {
    return parseArgs({ args, options: COMMON_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${usage}`);
  }
}

/** Resolves on SIGINT/SIGTERM; SIGHUP calls `onHangup` (configuration reload). */
export function untilSignal(onHangup?: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const hangup = () => onHangup?.();
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      process.off('SIGHUP', hangup);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    process.on('SIGHUP', hangup);
  });
}
