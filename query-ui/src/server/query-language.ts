import { InputError } from './api-errors';
import type { SqlValues } from '@distlog/collector/storage';
import { SEVERITY_TEXT_BY_NUMBER } from '@distlog/collector/model';
import { intLiteral } from '@distlog/collector/storage';
import type { ApiRecord } from './records';

/**
 * Distlog's search language — one line for the web UI's search box, `distlog search` /
 * `tail` / `patterns` and the API's `q=`:
 *
 *   severity>=warn (service:orders OR service:payments) orderId:1000 timeout -logger:health*
 *
 * - free text and "quoted phrases": case-insensitive substrings of the message;
 *   /regular expressions/ on the message (RE2 in ClickHouse, JavaScript in the live tail)
 * - fields: `service`, `logger`, `severity` (or `level`), `trace`, `span`, `tier`,
 *   `event`, `pattern`, `has:KEY`, `message`; any other name is a record attribute
 *   (`http.status>=500`, `orderId:1000`)
 * - operators `:` and `=` (equal; `*` in an unquoted value is a wildcard), `!=`, and
 *   `>`, `>=`, `<`, `<=` (numbers compare as numbers, severities by rank)
 * - `AND` (or nothing), `OR`, `NOT` or `-`, parentheses; AND binds tighter than OR
 *
 * Parsed once (errors name the position of what was wrong), then compiled to SQL —
 * every value through the collector's escaping module (SqlValues) — or to a test of one
 * record for the live tail; the two mean the same.
 */
export type Op = ':' | '=' | '!=' | '>' | '>=' | '<' | '<=';

export type QueryNode =
  | { kind: 'and' | 'or'; children: QueryNode[]; start: number; end: number }
  | { kind: 'not'; child: QueryNode; start: number; end: number }
  | { kind: 'text'; text: string; start: number; end: number }
  | { kind: 'regex'; source: string; start: number; end: number }
  | { kind: 'field'; field: string; op: Op; value: string; wildcard: boolean; start: number; end: number };

/** A query that does not parse: 400 with the position of the mistake. */
export class QuerySyntaxError extends InputError {
  constructor(
    readonly position: number,
    readonly detail: string,
  ) {
    super(`q: at ${position + 1}: ${detail}`, { position });
    this.name = 'QuerySyntaxError';
  }
}

/** The fields with a meaning of their own (others are record attributes); aliases → name. */
export const QUERY_FIELDS: Record<string, string> = {
  service: 'service',
  'service.name': 'service',
  logger: 'logger',
  scope: 'logger',
  severity: 'severity',
  level: 'severity',
  trace: 'trace',
  traceId: 'trace',
  span: 'span',
  spanId: 'span',
  tier: 'tier',
  event: 'event',
  'event.name': 'event',
  pattern: 'pattern',
  has: 'has',
  message: 'message',
  body: 'message',
};

const FIELD = /^([A-Za-z_@][\w.@/-]*)(!=|>=|<=|:|=|>|<)/;

interface Token {
  type: 'word' | 'phrase' | 'regex' | 'field' | '(' | ')' | 'AND' | 'OR' | 'NOT';
  text: string;
  start: number;
  end: number;
  field?: string;
  op?: Op;
  quoted?: boolean;
}

/** Reads a "…" string starting at `at` (the quote); \" and \\ are escapes. */
function readQuoted(input: string, at: number): { value: string; end: number } {
  let value = '';
  let i = at + 1;
  while (i < input.length) {
    const c = input[i];
    if (c === '\\' && i + 1 < input.length) {
      value += input[i + 1];
      i += 2;
      continue;
    }
    if (c === '"') return { value, end: i + 1 };
    value += c;
    i++;
  }
  throw new QuerySyntaxError(at, 'the quoted text is not closed (a " is missing)');
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const isSpace = (c: string) => /\s/.test(c);
  while (i < input.length) {
    const c = input[i];
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      tokens.push({ type: c, text: c, start: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === '-' && i + 1 < input.length && !isSpace(input[i + 1]) && input[i + 1] !== ')') {
      tokens.push({ type: 'NOT', text: '-', start: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === '"') {
      const { value, end } = readQuoted(input, i);
      tokens.push({ type: 'phrase', text: value, start: i, end });
      i = end;
      continue;
    }
    if (c === '/') {
      let j = i + 1;
      let source = '';
      while (j < input.length && input[j] !== '/') {
        if (input[j] === '\\' && input[j + 1] === '/') {
          source += '/';
          j += 2;
        } else source += input[j++];
      }
      if (j >= input.length)
        throw new QuerySyntaxError(i, 'the regular expression is not closed (a / is missing)');
      if (source === '') throw new QuerySyntaxError(i, 'the regular expression is empty');
      tokens.push({ type: 'regex', text: source, start: i, end: j + 1 });
      i = j + 1;
      continue;
    }
    // A bare word, or FIELD OP VALUE (the value may be quoted).
    let j = i;
    while (j < input.length && !isSpace(input[j]) && input[j] !== '(' && input[j] !== ')' && input[j] !== '"')
      j++;
    const word = input.slice(i, j);
    const field = FIELD.exec(word);
    if (field) {
      const op = field[2] as Op;
      const rest = word.slice(field[0].length);
      if (rest === '' && input[j] === '"') {
        const { value, end } = readQuoted(input, j);
        tokens.push({ type: 'field', text: value, field: field[1], op, quoted: true, start: i, end });
        i = end;
        continue;
      }
      if (rest === '')
        throw new QuerySyntaxError(
          j,
          `a value is missing after "${field[0]}" (e.g. ${field[1]}${op}value, or ${field[1]}${op}"two words")`,
        );
      tokens.push({ type: 'field', text: rest, field: field[1], op, quoted: false, start: i, end: j });
      i = j;
      continue;
    }
    if (word === 'AND' || word === 'OR' || word === 'NOT')
      tokens.push({ type: word, text: word, start: i, end: j });
    else if (word !== '') tokens.push({ type: 'word', text: word, start: i, end: j });
    else {
      // A lone quote inside a word, e.g. ab"c: read it as the start of a phrase.
      const { value, end } = readQuoted(input, j);
      tokens.push({ type: 'phrase', text: value, start: j, end });
      i = end;
      continue;
    }
    i = j;
  }
  return tokens;
}

/** Parses a query; an empty one (only spaces) gives undefined. Throws QuerySyntaxError. */
export function parseQuery(input: string): QueryNode | undefined {
  if (input.length > 4000) throw new QuerySyntaxError(4000, 'the query is longer than 4 000 characters');
  const tokens = tokenize(input);
  if (tokens.length === 0) return undefined;
  let at = 0;
  const peek = () => tokens[at];
  const endOf = (n: QueryNode) => n.end;

  const parseOr = (): QueryNode => {
    const first = parseAnd();
    const children = [first];
    while (peek()?.type === 'OR') {
      const or = tokens[at++];
      if (!peek() || peek().type === ')' || peek().type === 'OR' || peek().type === 'AND')
        throw new QuerySyntaxError(or.end, 'OR needs a condition after it');
      children.push(parseAnd());
    }
    return children.length === 1
      ? first
      : { kind: 'or', children, start: first.start, end: endOf(children[children.length - 1]) };
  };

  const parseAnd = (): QueryNode => {
    const first = parseUnary();
    const children = [first];
    for (;;) {
      const t = peek();
      if (!t || t.type === ')' || t.type === 'OR') break;
      if (t.type === 'AND') {
        at++;
        const next = peek();
        if (!next || next.type === ')' || next.type === 'OR' || next.type === 'AND')
          throw new QuerySyntaxError(t.end, 'AND needs a condition after it');
      }
      children.push(parseUnary());
    }
    return children.length === 1
      ? first
      : { kind: 'and', children, start: first.start, end: endOf(children[children.length - 1]) };
  };

  const parseUnary = (): QueryNode => {
    const t = peek();
    if (!t) throw new QuerySyntaxError(input.length, 'a condition is missing at the end');
    if (t.type === 'NOT') {
      at++;
      if (!peek() || peek().type === ')' || peek().type === 'OR' || peek().type === 'AND')
        throw new QuerySyntaxError(t.end, `${t.text === '-' ? '-' : 'NOT'} needs a condition after it`);
      const child = parseUnary();
      return { kind: 'not', child, start: t.start, end: child.end };
    }
    return parsePrimary();
  };

  const parsePrimary = (): QueryNode => {
    const t = tokens[at++];
    switch (t.type) {
      case '(': {
        if (peek()?.type === ')') throw new QuerySyntaxError(t.start, 'empty parentheses');
        const inner = parseOr();
        const close = tokens[at++];
        if (!close || close.type !== ')')
          throw new QuerySyntaxError(t.start, 'this parenthesis is not closed (a ) is missing)');
        return { ...inner, start: t.start, end: close.end };
      }
      case ')':
        throw new QuerySyntaxError(t.start, 'this ) closes no parenthesis');
      case 'AND':
      case 'OR':
        throw new QuerySyntaxError(t.start, `${t.type} needs a condition before it`);
      case 'word':
      case 'phrase':
        return { kind: 'text', text: t.text, start: t.start, end: t.end };
      case 'regex':
        checkRegex(t.text, t.start);
        return { kind: 'regex', source: t.text, start: t.start, end: t.end };
      case 'field':
        return fieldNode(t);
      default:
        throw new QuerySyntaxError(t.start, `unexpected ${t.text}`);
    }
  };

  const root = parseOr();
  if (at < tokens.length) {
    const t = tokens[at];
    throw new QuerySyntaxError(
      t.start,
      t.type === ')' ? 'this ) closes no parenthesis' : `unexpected ${t.text}`,
    );
  }
  return root;
}

function checkRegex(source: string, at: number): void {
  try {
    new RegExp(source);
  } catch (err) {
    throw new QuerySyntaxError(at, `invalid regular expression: ${(err as Error).message}`);
  }
}

const SEVERITY_NAMES = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/** A severity as a range of numbers: `warn` → 13–16, `WARN2` → 14, `17` → 17. */
export function severityRange(value: string): [number, number] | undefined {
  const upper = value.toUpperCase();
  const base = SEVERITY_NAMES.indexOf(upper === 'WARNING' ? 'WARN' : upper);
  if (base >= 0) return [base * 4 + 1, base * 4 + 4];
  if (/^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 24) return [Number(value), Number(value)];
  const n = SEVERITY_TEXT_BY_NUMBER.indexOf(upper);
  return n > 0 ? [n, n] : undefined;
}

function fieldNode(t: Token): QueryNode {
  const name = QUERY_FIELDS[t.field!] ?? t.field!;
  const op = t.op!;
  const value = t.text;
  const wildcard = !t.quoted && value.includes('*');
  const node = { kind: 'field' as const, field: name, op, value, wildcard, start: t.start, end: t.end };
  const at = t.start + t.field!.length + op.length;
  const ordered = op === '>' || op === '>=' || op === '<' || op === '<=';
  switch (name) {
    case 'severity':
      if (!severityRange(value))
        throw new QuerySyntaxError(
          at,
          `severity: expected TRACE, DEBUG, INFO, WARN, ERROR, FATAL or 1-24, got ${JSON.stringify(value)}`,
        );
      break;
    case 'trace':
    case 'span': {
      const digits = name === 'trace' ? 32 : 16;
      if (ordered || wildcard || !new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(value))
        throw new QuerySyntaxError(
          at,
          `${name}: expected ${digits} hex digits after : (got ${JSON.stringify(value)})`,
        );
      break;
    }
    case 'pattern':
      if (ordered || wildcard || !/^[0-9a-f]{1,16}$/.test(value))
        throw new QuerySyntaxError(
          at,
          `pattern: expected a pattern id (hex, from the patterns view), got ${JSON.stringify(value)}`,
        );
      break;
    case 'has':
      if (op !== ':' && op !== '=')
        throw new QuerySyntaxError(at - op.length, 'has: takes a key, as has:KEY');
      break;
    case 'service':
    case 'logger':
    case 'tier':
    case 'event':
    case 'message':
      if (ordered) throw new QuerySyntaxError(at - op.length, `${name} compares only with : = and !=`);
      break;
  }
  return node;
}

const like = (value: string) => value.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%');

/** The query as a SQL condition over all_logs (every value through `v`). */
export function compileQuery(node: QueryNode, v: SqlValues): string {
  switch (node.kind) {
    case 'and':
    case 'or':
      return `(${node.children.map((c) => compileQuery(c, v)).join(node.kind === 'and' ? ' AND ' : ' OR ')})`;
    case 'not':
      return `NOT (${compileQuery(node.child, v)})`;
    case 'text':
      return v.containsText('Body', node.text);
    case 'regex':
      return `match(Body, ${v.str(node.source)})`;
    case 'field':
      return compileField(node, v);
  }
}

function stringCompare(column: string, node: Extract<QueryNode, { kind: 'field' }>, v: SqlValues): string {
  const { op, value } = node;
  const eq = () => (node.wildcard ? `${column} LIKE ${v.str(like(value))}` : `${column} = ${v.str(value)}`);
  if (op === ':' || op === '=') return eq();
  if (op === '!=') return `NOT (${eq()})`;
  const n = Number(value);
  if (value.trim() !== '' && Number.isFinite(n))
    return `toFloat64OrNull(${column}) ${op} ${Number.isInteger(n) ? intLiteral(n) : String(n)}`;
  return `${column} ${op} ${v.str(value)}`;
}

function compileField(node: Extract<QueryNode, { kind: 'field' }>, v: SqlValues): string {
  const { field, op, value } = node;
  switch (field) {
    case 'service':
      return stringCompare('ServiceName', node, v);
    case 'logger':
      return stringCompare('ScopeName', node, v);
    case 'tier':
      return stringCompare('_table', node, v);
    case 'event':
      return stringCompare('EventName', node, v);
    case 'trace':
    case 'span': {
      const eq = `${field === 'trace' ? 'TraceId' : 'SpanId'} = ${v.str(value.toLowerCase())}`;
      return op === '!=' ? `NOT (${eq})` : eq;
    }
    case 'pattern': {
      const eq = `PatternId = ${intLiteral(BigInt('0x' + value))}`;
      return op === '!=' ? `NOT (${eq})` : eq;
    }
    case 'has': {
      const has = `has(LogAttributes.key, ${v.str(value)})`;
      return has;
    }
    case 'message': {
      const contains = node.wildcard
        ? `lower(Body) LIKE ${v.str(like(value.toLowerCase()))}`
        : v.containsText('Body', value);
      return op === '!=' ? `NOT (${contains})` : contains;
    }
    case 'severity': {
      const [lo, hi] = severityRange(value)!;
      switch (op) {
        case ':':
        case '=':
          return `SeverityNumber BETWEEN ${intLiteral(lo)} AND ${intLiteral(hi)}`;
        case '!=':
          return `NOT (SeverityNumber BETWEEN ${intLiteral(lo)} AND ${intLiteral(hi)})`;
        case '>':
          return `SeverityNumber > ${intLiteral(hi)}`;
        case '>=':
          return `SeverityNumber >= ${intLiteral(lo)}`;
        case '<':
          return `SeverityNumber < ${intLiteral(lo)}`;
        case '<=':
          return `SeverityNumber <= ${intLiteral(hi)}`;
      }
    }
  }
  // A record attribute: present, and its value compares.
  const k = v.str(field);
  const column = `LogAttributes.value[indexOf(LogAttributes.key, ${k})]`;
  if (op === '!=')
    return `NOT (has(LogAttributes.key, ${k}) AND ${stringCompare(column, { ...node, op: ':' }, v)})`;
  return `has(LogAttributes.key, ${k}) AND ${stringCompare(column, node, v)}`;
}

const wildcardRegExp = (value: string, flags = '') =>
  new RegExp(`^${value.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, flags);

/** The query as a test of one record (live tail): the same meaning as compileQuery. */
export function queryMatcher(node: QueryNode): (r: ApiRecord) => boolean {
  switch (node.kind) {
    case 'and': {
      const parts = node.children.map(queryMatcher);
      return (r) => parts.every((p) => p(r));
    }
    case 'or': {
      const parts = node.children.map(queryMatcher);
      return (r) => parts.some((p) => p(r));
    }
    case 'not': {
      const inner = queryMatcher(node.child);
      return (r) => !inner(r);
    }
    case 'text': {
      const text = asciiLower(node.text);
      return (r) => asciiLower(r.body).includes(text);
    }
    case 'regex': {
      const re = new RegExp(node.source);
      return (r) => re.test(r.body);
    }
    case 'field':
      return fieldMatcher(node);
  }
}

/** ClickHouse folds ASCII case only (positionCaseInsensitive, lower()). */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function stringTest(node: Extract<QueryNode, { kind: 'field' }>): (value: string | undefined) => boolean {
  const { op, value } = node;
  const re = node.wildcard ? wildcardRegExp(value) : undefined;
  const eq = (x: string | undefined) => x !== undefined && (re ? re.test(x) : x === value);
  if (op === ':' || op === '=') return eq;
  if (op === '!=') return (x) => !eq(x);
  const n = Number(value);
  const numeric = value.trim() !== '' && Number.isFinite(n);
  const cmp = (a: number | string, b: number | string) =>
    op === '>' ? a > b : op === '>=' ? a >= b : op === '<' ? a < b : a <= b;
  return (x) => {
    if (x === undefined) return false;
    if (!numeric) return cmp(x, value);
    const m = x.trim() === '' ? NaN : Number(x);
    return Number.isFinite(m) && cmp(m, n);
  };
}

function fieldMatcher(node: Extract<QueryNode, { kind: 'field' }>): (r: ApiRecord) => boolean {
  const { field, op, value } = node;
  const neg = op === '!=';
  switch (field) {
    case 'service': {
      const t = stringTest(node);
      return (r) => t(r.service);
    }
    case 'logger': {
      const t = stringTest(node);
      return (r) => t(r.scope);
    }
    case 'tier': {
      const t = stringTest(node);
      return (r) => t(r.tier);
    }
    case 'event': {
      const t = stringTest(node);
      return (r) => t(r.eventName);
    }
    case 'trace':
      return (r) => (r.traceId === value.toLowerCase()) !== neg;
    case 'span':
      return (r) => (r.spanId === value.toLowerCase()) !== neg;
    case 'pattern':
      return (r) => (r.patternId === BigInt('0x' + value).toString(16)) !== neg;
    case 'has':
      return (r) => value in r.attributes;
    case 'message': {
      const re = node.wildcard ? wildcardRegExp(asciiLower(value)) : undefined;
      const text = asciiLower(value);
      return (r) => (re ? re.test(asciiLower(r.body)) : asciiLower(r.body).includes(text)) !== neg;
    }
    case 'severity': {
      const [lo, hi] = severityRange(value)!;
      const test = (n: number) =>
        op === ':' || op === '='
          ? n >= lo && n <= hi
          : op === '!='
            ? !(n >= lo && n <= hi)
            : op === '>'
              ? n > hi
              : op === '>='
                ? n >= lo
                : op === '<'
                  ? n < lo
                  : n <= hi;
      return (r) => test(r.severityNumber);
    }
  }
  const t = stringTest({ ...node, op: neg ? ':' : op });
  return neg ? (r) => !t(r.attributes[field]) : (r) => t(r.attributes[field]);
}

/** Whether the query names `field` anywhere. */
export function usesField(node: QueryNode, field: string): boolean {
  switch (node.kind) {
    case 'and':
    case 'or':
      return node.children.some((c) => usesField(c, field));
    case 'not':
      return usesField(node.child, field);
    case 'field':
      return node.field === field;
    default:
      return false;
  }
}

/** The positive text terms that every match must contain (for the word index of 18.16): the longest. */
export function requiredText(node: QueryNode | undefined): string | undefined {
  if (!node) return undefined;
  const terms =
    node.kind === 'text'
      ? [node.text]
      : node.kind === 'and'
        ? node.children
            .filter((c): c is Extract<QueryNode, { kind: 'text' }> => c.kind === 'text')
            .map((c) => c.text)
        : [];
  return terms.sort((a, b) => b.length - a.length)[0];
}
