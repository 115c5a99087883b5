/**
 * Waits for `work` at most `ms`: true when it settled in time (a rejection counts — the
 * caller reads the outcome from `work` itself), false when the time ran out. The timer
 * is cleared as soon as the work settles, so it never holds the process longer.
 */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
