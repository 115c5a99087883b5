/**
 * pino's symbols, found by their descriptions (`pino.stream`, `pino.end`, …): pino exports
 * only a few of them (`pino.symbols`), and each copy of pino in a process has its own. Where
 * a pino release renames one, the caller finds none and falls back (each says how).
 */

/** The symbol described `description` among `obj`'s own (not its prototypes'). */
export function ownPinoSymbol(obj: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(obj).find((s) => s.description === description);
}

/** The object in `obj`'s prototype chain, `obj` first, that holds the symbol described `description`. */
export function holderOfPinoSymbol(obj: object, description: string): object | undefined {
  for (let o: object | null = obj; o; o = Object.getPrototypeOf(o) as object | null)
    if (ownPinoSymbol(o, description)) return o;
  return undefined;
}

/** Every `pino.*` symbol along `obj`'s prototype chain by description (the nearest one of each). */
export function pinoSymbolsAlong(obj: object): Map<string, symbol> {
  const found = new Map<string, symbol>();
  for (let o: object | null = obj; o !== null; o = Object.getPrototypeOf(o) as object | null)
    for (const s of Object.getOwnPropertySymbols(o))
      if (s.description?.startsWith('pino.') && !found.has(s.description)) found.set(s.description, s);
  return found;
}
