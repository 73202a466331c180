/** Registers `waiter` under `id`; the returned function removes it, unless another took its place since. */
export function register<V>(waiters: Map<string, V>, id: string, waiter: V): () => void {
  waiters.set(id, waiter);
  return () => {
    if (waiters.get(id) === waiter) waiters.delete(id);
  };
}
