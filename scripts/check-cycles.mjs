#!/usr/bin/env node
// `npm run lint` runs this: fails when the runtime imports of a package's sources form a
// cycle (a module that, through its imports, imports itself). Type-only imports
// (`import type`, `export type`) are erased by the compiler and do not count. Relative
// imports only: packages depend on each other one way by construction (workspaces).
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const SOURCES = ['proto/src', 'collector/src', 'sdk/src', 'query-ui/src', 'query-ui/web/src'];

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return files(full);
    return /\.(ts|tsx|mts)$/.test(name) && !/\.d\.ts$/.test(name) ? [full] : [];
  });
}

/** Runtime imports of one file: `import … from './x'`, `export … from './x'`, `require('./x')`, `import('./x')`. */
function imports(file) {
  const text = readFileSync(file, 'utf8');
  const found = [];
  const statement = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"](\.[^'"]+)['"]/g;
  for (let m; (m = statement.exec(text));) {
    const typeOnly =
      Boolean(m[2]) ||
      (/^\{[^}]*\}$/.test(m[3].trim()) &&
        m[3].split(',').every((s) => /^\s*\{?\s*type\s/.test(s) || /^\s*\}?\s*$/.test(s)));
    if (!typeOnly) found.push(m[4]);
  }
  for (const m of text.matchAll(/(?:^|\n)\s*import\s*['"](\.[^'"]+)['"]/g)) found.push(m[1]);
  for (const m of text.matchAll(/\b(?:require|import)\(\s*['"](\.[^'"]+)['"]\s*\)/g)) found.push(m[1]);
  return found.map((spec) => resolve(file, spec)).filter(Boolean);
}

function resolve(from, spec) {
  const base = path.resolve(path.dirname(from), spec.replace(/\.js$/, ''));
  for (const candidate of [base + '.ts', base + '.tsx', base + '.mts', path.join(base, 'index.ts')])
    if (existsSync(candidate)) return candidate;
  return undefined;
}

const graph = new Map();
for (const dir of SOURCES)
  for (const file of files(path.join(ROOT, dir)))
    if (!/\.test\.tsx?$/.test(file))
      graph.set(
        file,
        imports(file).filter((f) => !/\.test\.tsx?$/.test(f)),
      );

// Tarjan's strongly connected components: every component of more than one file is a cycle.
let index = 0;
const stack = [];
const on = new Set();
const idx = new Map();
const low = new Map();
const cycles = [];
function connect(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  on.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!idx.has(w)) {
      connect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component);
  }
}
for (const v of graph.keys()) if (!idx.has(v)) connect(v);

if (cycles.length === 0) {
  console.log(`no import cycles (${graph.size} modules)`);
} else {
  console.error(`${cycles.length} import cycle(s) — break them (a shared module, or \`import type\`):`);
  for (const c of cycles)
    console.error(
      '  ' +
        c
          .map((f) => path.relative(ROOT, f))
          .sort()
          .join('\n    '),
    );
  process.exit(1);
}
