// The bench's floor (scripts/bench-lifecycle.ts): the least a Temporal workflow on this server and worker setup costs for
// a given number of activities. Bundled only into the bench's own worker on its own task queue, never into the
// production worker (src/workflows is its whole bundle).
import { proxyActivities } from '@temporalio/workflow';
import type { FloorActivities } from './floor-activities';

export interface FloorInput {
  /** How many no-op activities to run, one after another (an operation's external calls). */
  readonly activities: number;
}

export interface FloorResult {
  readonly ran: number;
}

const { noop } = proxyActivities<FloorActivities>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 1 } });

/** Runs `activities` no-op activities in sequence and returns how many ran. */
export async function floor(input: FloorInput): Promise<FloorResult> {
  let ran = 0;
  for (let i = 0; i < input.activities; i++) ran += (await noop({ index: i })).ran;
  return { ran };
}
