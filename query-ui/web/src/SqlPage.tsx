import type { ReactNode } from 'react';
import { useState } from 'react';
import { postJson } from './api';

/** The read-only SQL console (the server enforces readonly and a time limit). */
export function SqlPage(): ReactNode {
  const [sql, setSql] = useState(
    'SELECT ServiceName, SeverityText, count() AS n\nFROM all_logs\nWHERE Timestamp > now() - 3600\nGROUP BY ServiceName, SeverityText\nORDER BY n DESC',
  );
  const [result, setResult] = useState<
    { columns: string[]; rows: Array<Record<string, unknown>> } | undefined
  >();
  const [error, setError] = useState<string | undefined>();
  const run = () => {
    setError(undefined);
    postJson<{ columns: string[]; rows: Array<Record<string, unknown>> }>('/api/sql', { sql }).then(
      setResult,
      (e: Error) => setError(e.message),
    );
  };
  return (
    <div className="sql">
      <textarea aria-label="SQL" value={sql} onChange={(e) => setSql(e.target.value)} rows={8} />
      <button className="primary" onClick={run}>
        Run (read-only)
      </button>
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      {result && (
        <table className="grid">
          <thead>
            <tr>
              {result.columns.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {result.rows.map((row, i) => (
              <tr key={i}>
                {result.columns.map((c) => (
                  <td key={c}>{typeof row[c] === 'object' ? JSON.stringify(row[c]) : String(row[c])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
