/**
 * Editing a search-language query as text (query-language.ts on the server reads it):
 * the dropdowns, facets and patterns add or replace terms, so the box always shows the
 * whole query.
 */

/** A value as the language reads it: bare when it is a plain word, else "quoted". */
export function quoteValue(value: string): string {
  return /^[\w.@/*-]+$/.test(value) && value !== '' && !/^(AND|OR|NOT)$/.test(value)
    ? value
    : `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The top-level terms of a query (quotes and parentheses kept whole). */
export function terms(q: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let current = '';
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (quote) {
      current += c;
      if (c === '\\' && i + 1 < q.length) current += q[++i];
      else if (c === '"') quote = false;
      continue;
    }
    if (c === '"') quote = true;
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    if (/\s/.test(c) && depth === 0) {
      if (current) out.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  if (current) out.push(current);
  return out;
}

const FIELD_TERM = (field: string) => new RegExp(`^-?${field.replace(/[.]/g, '\\.')}(:|=|!=|>=|<=|>|<)`);

/** The query with every top-level term on `field` replaced by `term` (or removed when term is empty). */
export function setTerm(q: string, field: string, term: string): string {
  const kept = terms(q).filter((t) => !FIELD_TERM(field).test(t));
  return [...kept, ...(term ? [term] : [])].join(' ');
}

/** The query with `term` added (once). */
export function addTerm(q: string, term: string): string {
  const all = terms(q);
  return all.includes(term) ? q : [...all, term].join(' ');
}

/** The query without one top-level term. */
export function removeTerm(q: string, term: string): string {
  return terms(q)
    .filter((t) => t !== term)
    .join(' ');
}

/** `field:value`, or `-field:value` to exclude. */
export function fieldTerm(field: string, value: string, exclude = false): string {
  return `${exclude ? '-' : ''}${field}:${quoteValue(value)}`;
}
