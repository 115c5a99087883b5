import { readFileSync } from 'node:fs';
import path from 'node:path';

/** This package's version (its package.json, one folder above src/ and dist/). */
export const COLLECTOR_VERSION: string = (() => {
  try {
    return (
      (JSON.parse(readFileSync(path.resolve(__dirname, '../package.json'), 'utf8')) as { version?: string })
        .version ?? 'unknown'
    );
  } catch {
    return 'unknown';
  }
})();
