import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// React through the automatic JSX runtime (Vite's built-in transform): no plugin needed.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Relative: the query server writes the page's <base href> (served at a root or under a proxy's path).
  base: './',
  oxc: { jsx: { runtime: 'automatic' } },
  build: { outDir: '../dist/web', emptyOutDir: true, sourcemap: true },
  server: { proxy: { '/api': 'http://127.0.0.1:4320' } },
});
