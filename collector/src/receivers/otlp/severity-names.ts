import { SEVERITY_TEXT_BY_NUMBER } from '../../model/log-row';

/** `SEVERITY_NUMBER_INFO` → 9 etc., for OTLP/JSON senders that write enum names. */
export const SEVERITY_NUMBER_BY_NAME: ReadonlyMap<string, number> = new Map(
  SEVERITY_TEXT_BY_NUMBER.map((text, n) => [
    n === 0 ? 'SEVERITY_NUMBER_UNSPECIFIED' : `SEVERITY_NUMBER_${text}`,
    n,
  ]),
);
