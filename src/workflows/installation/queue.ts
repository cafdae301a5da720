import { condition } from '@temporalio/workflow';
import type { OperationRequest, QueuedOperation, RecordKind } from '../../shared/lifecycle';
import type { Installation, Outcome } from './state';

/**
 * Queues a request. A newer upgrade or migrate replaces a queued older one (which is recorded as superseded and
 * answered so); a heal already queued absorbs another. Returns the operation that will carry the request out.
 */
export function enqueue(inst: Installation, request: OperationRequest): QueuedOperation {
  const { state } = inst;
  state.seq += 1;
  const op: QueuedOperation = { ...request, id: `${request.kind}-${state.seq}`, requestedAt: inst.now() };
  if (op.kind === 'heal') {
    const queued = state.queue.find((q) => q.kind === 'heal');
    if (queued) {
      inst.record(op, 'superseded', `collapsed into ${queued.id}, already queued`, null);
      return queued;
    }
  }
  if (op.kind === 'upgrade' || op.kind === 'migrate') {
    const index = state.queue.findIndex((q) => q.kind === op.kind);
    const older = state.queue[index];
    if (older) {
      state.queue[index] = op;
      inst.record(older, 'superseded', `replaced by ${op.id}, a newer ${op.kind} request`, null);
      inst.outcomes.set(older.id, { kind: 'superseded', by: op.id });
      return op;
    }
  }
  state.queue.push(op);
  return op;
}

/** A request refused on arrival (malformed, or the installation is retiring): recorded, never queued. */
export function refuse(inst: Installation, kind: RecordKind, why: string): void {
  inst.state.seq += 1;
  inst.record({ id: `${kind}-${inst.state.seq}`, kind, requestedAt: inst.now() }, 'refused', why, null);
}

/** Waits until the operation has finished (or was replaced) and takes its outcome. */
export async function outcomeOf(inst: Installation, op: QueuedOperation): Promise<Outcome> {
  await condition(() => inst.outcomes.has(op.id));
  const outcome = inst.outcomes.get(op.id) ?? { kind: 'done' };
  inst.outcomes.delete(op.id);
  return outcome;
}
