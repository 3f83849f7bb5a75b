// Per-key locks: one write at a time for a key, in the order they came.

export class KeyLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` alone for `key`: conditions checked inside it hold until its write is done. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => this.tails.get(key) === tail && this.tails.delete(key));
    return run;
  }
}
