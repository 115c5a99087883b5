import type { ReactNode, RefObject } from 'react';
import { useState } from 'react';
import { SEVERITIES } from './api';
import { quoteValue } from './query-text';
import { COMPLETABLE_FIELDS as FIELDS } from '../../src/shared/api-types';

export interface Vocabulary {
  services: string[];
  scopes: string[];
  tiers: string[];
  attributeKeys: string[];
}

/** The word being typed: from the last space or parenthesis before the cursor. */
function currentWord(text: string, cursor: number): { start: number; word: string } {
  let start = cursor;
  while (start > 0 && !/[\s()]/.test(text[start - 1])) start--;
  const word = text.slice(start, cursor);
  return {
    start: word.startsWith('-') ? start + 1 : start,
    word: word.startsWith('-') ? word.slice(1) : word,
  };
}

/** Completions for the word being typed: field names, then values of the field. */
export function suggestions(word: string, vocabulary: Vocabulary): string[] {
  const field = /^([\w.@/-]+)(:|=|!=|>=|<=|>|<)(.*)$/.exec(word);
  const starts = (prefix: string) => (s: string) =>
    s.toLowerCase().startsWith(prefix.toLowerCase()) && s !== prefix;
  if (!field) {
    if (word === '') return [];
    return [...FIELDS, ...vocabulary.attributeKeys.map((k) => `${k}:`)].filter(starts(word)).slice(0, 8);
  }
  const [, name, op, typed] = field;
  const values =
    name === 'service'
      ? vocabulary.services
      : name === 'logger'
        ? vocabulary.scopes
        : name === 'tier'
          ? vocabulary.tiers
          : name === 'severity' || name === 'level'
            ? SEVERITIES.map((s) => s.toLowerCase())
            : name === 'has'
              ? vocabulary.attributeKeys
              : [];
  return values
    .filter((v) => v.toLowerCase().startsWith(typed.replace(/^"/, '').toLowerCase()))
    .map((v) => `${name}${op}${quoteValue(v)}`)
    .filter((s) => s !== word)
    .slice(0, 8);
}

/**
 * The search box: the query language, with completions for field names, services,
 * loggers, tiers, severities and attribute keys (↓/↑ to choose, Tab or Enter to take one,
 * Escape to close). `error` (from the API) is shown under it, with its position marked.
 */
export function QueryBox(props: {
  value: string;
  onChange: (value: string) => void;
  onSubmit: (value: string) => void;
  vocabulary: Vocabulary;
  error?: { message: string; position?: number };
  inputRef?: RefObject<HTMLInputElement | null>;
}): ReactNode {
  const { value, onChange, vocabulary, error } = props;
  const [cursor, setCursor] = useState(value.length);
  const [chosen, setChosen] = useState(-1);
  const [open, setOpen] = useState(false);
  const { start, word } = currentWord(value, cursor);
  const list = open ? suggestions(word, vocabulary) : [];
  const take = (s: string) => {
    const next = value.slice(0, start) + s + value.slice(cursor);
    onChange(next);
    setCursor(start + s.length);
    setChosen(-1);
    // A completed value ends the word; a field name waits for its value.
    setOpen(/[:=<>]$/.test(s));
  };
  return (
    <span className="query-box">
      <input
        ref={props.inputRef}
        aria-label="query"
        placeholder="query: service:orders severity>=warn timeout  (press / to come here)"
        value={value}
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => {
          onChange(e.target.value);
          setCursor(e.target.selectionStart ?? e.target.value.length);
          setChosen(-1);
          setOpen(true);
        }}
        onClick={(e) => setCursor(e.currentTarget.selectionStart ?? value.length)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (list.length > 0 && e.key === 'ArrowDown') {
            e.preventDefault();
            setChosen((c) => (c + 1) % list.length);
          } else if (list.length > 0 && e.key === 'ArrowUp') {
            e.preventDefault();
            setChosen((c) => (c <= 0 ? list.length - 1 : c - 1));
          } else if (list.length > 0 && (e.key === 'Tab' || (e.key === 'Enter' && chosen >= 0))) {
            e.preventDefault();
            take(list[Math.max(0, chosen)]);
          } else if (e.key === 'Escape') {
            setOpen(false);
          } else if (e.key === 'Enter') {
            e.preventDefault();
            setOpen(false);
            props.onSubmit(value);
          }
        }}
      />
      {list.length > 0 && (
        <ul className="completions" role="listbox" data-testid="completions">
          {list.map((s, i) => (
            <li
              key={s}
              role="option"
              aria-selected={i === chosen}
              className={i === chosen ? 'chosen' : ''}
              onMouseDown={(e) => {
                e.preventDefault();
                take(s);
              }}
            >
              {s}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <span className="query-error" role="alert" data-testid="query-error">
          {error.position !== undefined && (
            <code>
              {value.slice(Math.max(0, error.position - 20), error.position)}
              <mark>{value.slice(error.position, error.position + 1) || ' '}</mark>
            </code>
          )}{' '}
          {error.message}
        </span>
      )}
    </span>
  );
}
