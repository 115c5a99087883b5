/**
 * The last `capacity` keys seen, for skipping what a reopened live tail sends again (its
 * last seconds' records). No imports: the console verb and the web UI both use it.
 */
export class RecentKeys {
  private readonly keys = new Set<string>();
  private readonly order: string[] = [];

  constructor(private readonly capacity: number) {}

  /** False when the key was seen already. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.order.push(key) > this.capacity) this.keys.delete(this.order.shift()!);
    return true;
  }
}
