/**
 * The severity a record shows: the sender's text, or, where it sent only a number (OTLP
 * makes `severity_text` optional, and many SDKs leave it out), the number's short name
 * from the OTLP data model: 9 → INFO, 10 → INFO2, 13 → WARN, … 24 → FATAL4. 0 without a
 * text is UNSPECIFIED, as in the facets. No imports: the browser build uses it too.
 */
export function severityLabel(text: string, severityNumber: number): string {
  if (text !== '') return text;
  if (!Number.isInteger(severityNumber) || severityNumber < 1 || severityNumber > 24) return 'UNSPECIFIED';
  const step = (severityNumber - 1) % 4;
  return (
    ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'][(severityNumber - 1) >> 2] +
    (step ? String(step + 1) : '')
  );
}
