import type { ReactNode } from 'react';
import { useCallback, useEffect, useState } from 'react';
import type { ApiLevelInstance, ApiLevelRule } from './api';
import { getJson } from './api';
import { withBase } from './base';

type Rule = ApiLevelRule;
type Instance = ApiLevelInstance;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Run-time log levels: the rules in force, each process's loggers, and a form to set one. */
export function LevelsPage(): ReactNode {
  const [data, setData] = useState<{ rules: Rule[]; instances: Instance[] }>({ rules: [], instances: [] });
  const [error, setError] = useState<string | undefined>();
  // What a rule just set reaches now, when it is nothing (a mistyped service, a logger no process has).
  const [notes, setNotes] = useState<string[]>([]);
  const [form, setForm] = useState({ service: '', logger: '', level: 'debug', for: '15m', onError: false });
  const load = useCallback(
    () =>
      getJson<{ rules: Rule[]; instances: Instance[] }>('/api/levels').then(setData, (e: Error) =>
        setError(e.message),
      ),
    [],
  );
  useEffect(() => {
    void load();
    const timer = setInterval(load, 2000);
    return () => clearInterval(timer);
  }, [load]);
  const call = async (method: string, query = '', body?: object) => {
    setError(undefined);
    setNotes([]);
    const res = await fetch(withBase(`/api/levels${query}`), {
      method,
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    if (!res.ok) setError(json.error ?? `HTTP ${res.status}`);
    else if (Array.isArray(json.notes)) setNotes(json.notes as string[]);
    await load();
  };
  return (
    <div className="levels" data-testid="levels">
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void call('POST', '', {
            service: form.service || '*',
            logger: form.logger || '*',
            level: form.level,
            ...(form.for ? { for: form.for } : {}),
            ...(form.onError ? { onError: true } : {}),
            setBy: 'web UI',
          });
        }}
      >
        <input
          aria-label="level service"
          placeholder="service (* for all)"
          value={form.service}
          onChange={(e) => setForm({ ...form, service: e.target.value })}
        />
        <input
          aria-label="level logger"
          placeholder="logger, e.g. db.* (* for all)"
          value={form.logger}
          onChange={(e) => setForm({ ...form, logger: e.target.value })}
        />
        <select
          aria-label="level"
          value={form.level}
          onChange={(e) => setForm({ ...form, level: e.target.value })}
        >
          {LEVELS.map((l) => (
            <option key={l}>{l}</option>
          ))}
        </select>
        <select aria-label="for" value={form.for} onChange={(e) => setForm({ ...form, for: e.target.value })}>
          {['5m', '15m', '1h', '1d', ''].map((d) => (
            <option key={d} value={d}>
              {d ? `for ${d}` : 'until cleared'}
            </option>
          ))}
        </select>
        <label title="generate DEBUG but keep it in each process; send it only for the traces that fail">
          <input
            type="checkbox"
            aria-label="only when the request fails"
            checked={form.onError}
            onChange={(e) => setForm({ ...form, onError: e.target.checked })}
          />{' '}
          only when the request fails
        </label>
        <button type="submit" className="primary">
          Set level
        </button>
      </form>
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      {notes.length > 0 && (
        <div className="notice" role="status" data-testid="level-notes">
          {notes.map((n) => (
            <div key={n}>Set, but: {n.replace(/`distlog level list`; /, '')}</div>
          ))}
        </div>
      )}
      <h3>Rules</h3>
      <table className="grid" data-testid="level-rules">
        <thead>
          <tr>
            <th>service</th>
            <th>logger</th>
            <th>level</th>
            <th>until</th>
            <th>set by</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data.rules.map((r) => (
            <tr key={r.id}>
              <td>{r.service}</td>
              <td>{r.logger}</td>
              <td>{r.onError ? `${r.level}, sent on error` : r.level}</td>
              <td>{r.expiresAt ?? '—'}</td>
              <td>{r.setBy}</td>
              <td>
                <button onClick={() => void call('DELETE', `?id=${r.id}&by=web%20UI`)}>Clear</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Processes and their loggers</h3>
      {data.instances.map((i) => (
        <div key={`${i.service}-${i.instance}`} className="instance">
          <b>{i.service}</b> <span className="muted">{i.instance}</span>
          {i.connected === false && (
            <span className="not-connected">
              {' '}
              not connected: sends logs (last {i.lastSeenAt}) but does not follow level rules — see its stderr
            </span>
          )}
          <table className="grid">
            <tbody>
              {Object.entries(i.loggers).map(([name, l]) => (
                <tr key={name}>
                  <td>{name}</td>
                  <td className={l.rule ? 'overridden' : ''}>
                    {l.onError ? `${l.level}, held until an error` : l.level}
                  </td>
                  <td className="muted">configured {l.configured ?? '—'}</td>
                  <td className="muted">{l.rule ? `rule ${l.rule}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </div>
  );
}
