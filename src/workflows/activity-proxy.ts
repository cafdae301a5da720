import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { activityOptions, type ActivityName, type RetryName } from '../shared/activity-contract';

/**
 * Every activity, each scheduled with its own options from the timing contract (src/shared/activity-contract.ts), some
 * computed from the call's input. Workflows call activities only through these.
 */
function contractActivities(retry?: RetryName): Activities {
  return new Proxy({} as Activities, {
    get(_, name) {
      if (typeof name !== 'string') return undefined;
      return (input: never) => {
        const options = activityOptions(name as ActivityName, input, retry);
        const fn = (proxyActivities<Activities>(options) as unknown as Record<string, (i: never) => Promise<unknown>>)[name];
        if (!fn) throw new TypeError(`no activity ${name}`);
        return fn(input);
      };
    },
  });
}

export const acts = contractActivities();
/** The same activities, retried only briefly: for a droplet that may already be dead. */
export const bestEffort = contractActivities('bestEffort');
