import Module from 'node:module';
import type { PinoFactory } from './adoption';
import { withTraceContext } from './factory';

let hooked = false;
const PINO_FILE = /[\\/]node_modules[\\/]pino[\\/]pino\.js$/;

/**
 * Makes every later `require('pino')` / `import pino from 'pino'` return the factory
 * that adds trace context, and hooks every copy of pino already loaded (an app that
 * imported pino before init()): see adoption.ts for what its loggers get.
 */
export function hookPino(): void {
  if (hooked) return;
  hooked = true;
  const mod = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const originalLoad = mod._load;
  mod._load = function (this: unknown, request: string, ...rest: unknown[]) {
    const exports = originalLoad.call(this, request, ...rest);
    if (request === 'pino' && typeof exports === 'function') return withTraceContext(exports as PinoFactory);
    return exports;
  };
  // An ES module's `import pino from 'pino'` takes pino's `module.exports` as soon as
  // its file has run, before `_load` returns: swap the exports right after compiling.
  const proto = Module.prototype as unknown as {
    _compile: (this: { filename: string; exports: unknown }, ...args: unknown[]) => unknown;
  };
  const originalCompile = proto._compile;
  proto._compile = function (this: { filename: string; exports: unknown }, ...args: unknown[]) {
    const result = originalCompile.apply(this, args);
    if (PINO_FILE.test(this.filename) && typeof this.exports === 'function')
      this.exports = withTraceContext(this.exports as PinoFactory);
    return result;
  };
  for (const [file, cached] of Object.entries(require.cache)) {
    if (cached && PINO_FILE.test(file) && typeof cached.exports === 'function') {
      // Loaded before init(): loggers may exist already, and the app may hold this factory.
      cached.exports = withTraceContext(cached.exports as PinoFactory, { firstWrite: true });
    }
  }
}
