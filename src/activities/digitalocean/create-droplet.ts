import { z } from 'zod';
import { MANAGED_TAG, resourceNames } from '../../shared/ids';
import { BOUNDS } from '../../shared/activity-contract';
import { currentAttempt, pause, progress } from '../heartbeat';
import type { DigitalOceanApi, Droplet } from './client';
import { DigitalOceanApiError } from './errors';

export interface CreateDropletDeps {
  readonly api: DigitalOceanApi;
  readonly buildUserData: (input: { readonly installationId: string; readonly image: string }) => Promise<string>;
  readonly pollIntervalMs: number;
  /** How long DigitalOcean may still carry out a create whose answer was lost (TRIGGER_OPS_CREATE_SETTLE_SECONDS). */
  readonly createSettleMs: number;
}

export interface EnsureDropletInput {
  installationId: string;
  generation: number;
  region: string;
  size: string;
  image: string;
  sshKeyId: number;
  monitoring: boolean;
}

/**
 * What an attempt leaves for the next one in its heartbeat details: whether a create it (or an attempt before it)
 * sent may still be carried out unseen. Only ever reported as false in an attempt's last heartbeat, which Temporal
 * delivers with the attempt's failure; a worker that dies leaves "true" or nothing, and the next attempt waits.
 */
const createAttemptSchema = z.object({ attempt: z.number().int(), unseenCreate: z.boolean() });

/**
 * The generation's droplet, found under the installation's tag or by its name, or created. Never two: a create
 * whose answer was lost (a timeout, a 5xx, a dropped connection) may still be carried out by DigitalOcean, and its
 * droplet may show up in lists only later. So a retry after such a create (or after an attempt that ended without
 * saying) polls by tag and by name until the settle window after its own scheduling has passed, heartbeating, and
 * adopts what appears; only then does it create.
 */
export async function ensureDroplet(deps: CreateDropletDeps, input: EnsureDropletInput): Promise<{ id: number; name: string }> {
  const { api } = deps;
  const names = resourceNames(input.installationId);
  const name = names.droplet(input.generation);
  const find = () => findDroplet(api, names.tag, name);
  const attempt = currentAttempt();
  const prior = createAttemptSchema.safeParse(attempt.previousDetails);
  const priorClean = prior.success && prior.data.attempt === attempt.number - 1 && !prior.data.unseenCreate;
  let unseenCreate = attempt.number > 1 && !priorClean;
  try {
    const existing = await find();
    if (existing) return { id: existing.id, name: existing.name };
    if (unseenCreate) {
      const settled = await settle(deps, find, attempt.scheduledAtMs + deps.createSettleMs, attempt.number);
      if (settled) return { id: settled.id, name: settled.name };
      unseenCreate = false;
    }
    const userData = await deps.buildUserData({ installationId: input.installationId, image: input.image });
    unseenCreate = true;
    progress({ attempt: attempt.number, unseenCreate, createSentAt: new Date().toISOString() });
    try {
      const { droplet } = await api.createDroplet({
        name,
        region: input.region,
        size: input.size,
        image: input.image,
        sshKeys: [input.sshKeyId],
        tags: [MANAGED_TAG, names.tag],
        userData,
        monitoring: input.monitoring,
      });
      return { id: droplet.id, name: droplet.name };
    } catch (err) {
      unseenCreate = outcomeUnknown(err);
      throw err;
    }
  } catch (err) {
    progress({ attempt: attempt.number, unseenCreate });
    throw err;
  }
}

/** A 4xx (429 included) means DigitalOcean did not create; anything else may have been carried out. */
function outcomeUnknown(err: unknown): boolean {
  return !(err instanceof DigitalOceanApiError) || err.status === undefined || err.status >= 500;
}

/** The droplet named `name` under the tag, else by name with the tag (the two lists may lag each other). */
async function findDroplet(api: DigitalOceanApi, tag: string, name: string): Promise<Droplet | undefined> {
  const tagged = (await api.listDropletsByTag(tag)).find((d) => d.name === name);
  return tagged ?? (await api.listDropletsByName(name)).find((d) => d.name === name && d.tags.includes(tag));
}

/** Polls until the droplet shows up or `untilMs` has passed (looking once more at the end); a 429 waits as told. */
async function settle(deps: CreateDropletDeps, find: () => Promise<Droplet | undefined>, untilMs: number, attempt: number): Promise<Droplet | undefined> {
  const every = Math.max(deps.pollIntervalMs, BOUNDS.createSettlePollMs);
  for (;;) {
    progress({ attempt, unseenCreate: true, settlingUntil: new Date(untilMs).toISOString() });
    const found = await find().catch(async (err: unknown) => {
      if (!(err instanceof DigitalOceanApiError) || err.status !== 429 || Date.now() >= untilMs) throw err;
      await pause(Math.min((err.retryAfterSeconds ?? 5) * 1000, Math.max(0, untilMs - Date.now())));
      return undefined;
    });
    if (found) return found;
    if (Date.now() >= untilMs) return undefined;
    await pause(Math.min(every, untilMs - Date.now()));
  }
}
