import { BOUNDS } from '../../shared/activity-contract';
import type { DesiredState } from '../../shared/deploy';
import { DEFAULT_LIFECYCLE_SETTINGS, type OrphanRecord, type OrphanResource } from '../../shared/lifecycle';
import { acts } from '../activity-proxy';
import { rootCauseMessage } from '../saga';
import type { Installation } from './state';

/** Sweeps run at most this often (and at most every grace period): three DigitalOcean list calls each. */
const SWEEP_EVERY_MAX_SECONDS = 600;

const label = (o: Pick<OrphanResource, 'kind' | 'id' | 'name'>) => `${o.kind} ${o.id} ("${o.name}")`;
const same = (a: Pick<OrphanResource, 'kind' | 'id'>, b: Pick<OrphanResource, 'kind' | 'id'>) => a.kind === b.kind && a.id === b.id;

/**
 * The orphan sweep, at the start of a heal check: whatever carries the installation's tag or name but is not in
 * its desired state (a droplet of another generation, a second droplet of the same name, a second firewall, a stale
 * key: what a failed undo or a human left) is recorded in status and heal events, and removed once it has been seen
 * for `orphanGraceSeconds`. Heal is one of the installation's operations, run one at a time, so the sweep never runs
 * while a deploy (which holds the installation) or a migrate (its child) may be creating a droplet; the desired
 * droplet is never an orphan. A failed sweep is recorded and does not stop the heal check. It runs at most every
 * grace period (10 minutes at most) and not on the first check, so a heal check stays at one DigitalOcean call.
 */
export async function sweepOrphans(inst: Installation, desired: DesiredState): Promise<void> {
  const { state } = inst;
  const input = { installationId: inst.id, keepDropletId: desired.droplet.id };
  const graceSeconds = state.settings.orphanGraceSeconds ?? DEFAULT_LIFECYCLE_SETTINGS.orphanGraceSeconds;
  const startedAt = Date.now();
  if (state.lastSweepAt === undefined || startedAt - state.lastSweepAt < Math.min(graceSeconds, SWEEP_EVERY_MAX_SECONDS) * 1000) {
    state.lastSweepAt ??= startedAt;
    return;
  }
  state.lastSweepAt = startedAt;
  try {
    const { orphans } = await acts.findOrphans(input);
    const known = state.orphans ?? [];
    const current: OrphanRecord[] = orphans.map((o) => {
      const seen = known.find((k) => same(k, o));
      if (!seen) {
        const then = o.removable ? `; removed after ${graceSeconds}s unless it becomes desired` : '; recorded, never removed';
        inst.event({ action: 'sweep-orphans', decision: 'orphan-found', reason: `${label(o)}: ${o.reason}${then}` });
      }
      return { ...o, since: seen?.since ?? inst.now() };
    });
    state.orphans = current;
    const now = Date.now();
    const ripe = current.filter((o) => o.removable && now - Date.parse(o.since) >= graceSeconds * 1000).slice(0, BOUNDS.orphansPerSweep);
    if (ripe.length === 0) return;
    const removed = await acts.deleteOrphans({ ...input, orphans: ripe.map(({ kind, id, name }) => ({ kind, id, name })) });
    for (const o of removed.deleted) {
      const record = ripe.find((d) => same(d, o));
      const reason = `${label(o)} removed, an orphan since ${record?.since ?? '?'}: ${record?.reason ?? ''}`;
      inst.event({ action: 'sweep-orphans', decision: 'orphan-removed', reason });
    }
    state.orphans = current.filter((o) => !ripe.some((d) => same(d, o)));
  } catch (err) {
    inst.event({ action: 'sweep-orphans', decision: 'sweep-failed', reason: rootCauseMessage(err) });
  }
}
