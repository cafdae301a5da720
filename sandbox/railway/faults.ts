import type { FaultKind } from '../contracts';

/** What a test uses to make the next calls of an operation fail, slow down or hang. */
export interface Faults {
  /** The next `count` calls of `operation` (a GraphQL root field, or a route name of the webapp) fail as `kind`. */
  failNext(operation: string, count: number, kind: FaultKind): void;
  clear(): void;
}

export interface FaultQueue extends Faults {
  /** Consumes one pending fault for the first of `operations` that has one. */
  take(operations: readonly string[]): { readonly operation: string; readonly kind: FaultKind } | undefined;
}

export function createFaultQueue(): FaultQueue {
  const pending = new Map<string, { kind: FaultKind; remaining: number }[]>();
  return {
    failNext(operation, count, kind) {
      if (!Number.isInteger(count) || count < 1) throw new Error(`failNext count must be a positive integer, got ${count}`);
      const list = pending.get(operation) ?? [];
      list.push({ kind, remaining: count });
      pending.set(operation, list);
    },
    clear() {
      pending.clear();
    },
    take(operations) {
      for (const operation of operations) {
        const list = pending.get(operation);
        const head = list?.[0];
        if (!list || !head) continue;
        head.remaining -= 1;
        if (head.remaining === 0) list.shift();
        if (list.length === 0) pending.delete(operation);
        return { operation, kind: head.kind };
      }
      return undefined;
    },
  };
}
