import type { ReactNode } from 'react';
import { useEffect, useState } from 'react';
import type { ApiStatus } from '../../src/shared/api-types';
import { getJson } from './api';

/** The running collectors (as `distlog status`): refreshed every 5 s, with what needs acting on. */
export function StatusPage(): ReactNode {
  const [status, setStatus] = useState<ApiStatus | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const load = () =>
      getJson<ApiStatus>('/api/status').then(
        (s) => {
          setStatus(s);
          setError(undefined);
        },
        (e: Error) => setError(e.message),
      );
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  return (
    <div className="levels" data-testid="status">
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      {status?.problems.map((p) => (
        <div className="error" role="alert" key={p} data-testid="status-problem">
          {p}
        </div>
      ))}
      {status && status.problems.length === 0 && (
        <p className="muted">All collectors ready, nothing waiting.</p>
      )}
      <table className="grid" data-testid="status-collectors">
        <thead>
          <tr>
            {[
              'collector',
              'address',
              'version',
              'up since (UTC)',
              'ready',
              'spool',
              'set aside',
              'received',
              'refused',
              'stored',
              'senders',
            ].map((h) => (
              <th key={h}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {status?.collectors.map(({ id, url, status: s, error: e }) => (
            <tr key={id} data-testid="status-collector" data-ready={s ? String(s.ready) : 'unknown'}>
              <td>{id}</td>
              <td>{url}</td>
              {s ? (
                <>
                  <td>{s.version}</td>
                  <td title={`${s.uptimeSeconds} s`}>{s.startedAt.replace('T', ' ').slice(0, 19)}</td>
                  <td className={s.ready ? '' : 'sev-error'}>{s.ready ? 'yes' : 'no'}</td>
                  <td>{s.spool ? s.spool.batches : '–'}</td>
                  <td className={s.spool?.setAsideBatches ? 'sev-error' : ''}>
                    {s.spool ? s.spool.setAsideBatches : '–'}
                  </td>
                  <td>{s.records.received}</td>
                  <td>{s.records.refused}</td>
                  <td>{s.records.stored}</td>
                  <td>{s.processes}</td>
                </>
              ) : (
                <td colSpan={9} className="sev-error">
                  no answer: {e}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
