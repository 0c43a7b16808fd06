/**
 * Per-key serialization: `run(key, fn)` starts `fn` only after every earlier `fn` for the same key has
 * settled, so read-modify-write sequences on one key never interleave (in this process). Different keys run
 * independently. A key's entry is removed as soon as its chain drains, so the map only holds busy keys.
 *
 * `run` resolves/rejects with `fn`'s own result; one failing `fn` does not break the chain for the next.
 */
export class KeyedChain {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(fn, fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  /** Number of keys with work in flight (for tests and diagnostics). */
  get busyKeys(): number {
    return this.#tails.size;
  }
}
