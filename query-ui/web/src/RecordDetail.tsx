import type { ReactNode } from 'react';
import type { ApiRecord } from './api';
import { navigate } from './url';
import { severityLabel } from '../../src/shared/severity';

/** One record opened beside the results: its body, fields, attributes (click one to filter by it) and resource. */
export function RecordDetail(props: {
  record: ApiRecord;
  onAttr: (k: string, v: string) => void;
  onClose: () => void;
}): ReactNode {
  const r = props.record;
  const fields: Array<[string, string]> = [
    ['time', r.time],
    ['service', r.service],
    ['severity', `${severityLabel(r.severityText, r.severityNumber)} (${r.severityNumber})`],
    ['logger', r.scope],
    ['event', r.eventName],
    ['trace id', r.traceId],
    ['span id', r.spanId],
    ['tier', r.tier],
  ];
  return (
    <aside className="detail" data-testid="detail">
      <button className="close" onClick={props.onClose} aria-label="close">
        ×
      </button>
      <pre className="body">{r.body}</pre>
      {r.traceId && (
        <button
          className="primary"
          data-testid="follow"
          onClick={() => navigate(`/trace/${r.traceId}?record=${encodeURIComponent(r.id)}`)}
        >
          Follow this request →
        </button>
      )}
      <h4>Fields</h4>
      <KeyValues entries={fields.filter(([, v]) => v)} />
      <h4>Attributes</h4>
      <table data-testid="attributes">
        <tbody>
          {Object.entries(r.attributes).map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>
                <button className="link" title="filter by this value" onClick={() => props.onAttr(k, v)}>
                  {v}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>Resource</h4>
      <KeyValues entries={Object.entries(r.resource)} />
    </aside>
  );
}

function KeyValues(props: { entries: Array<[string, string]> }): ReactNode {
  return (
    <table>
      <tbody>
        {props.entries.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
