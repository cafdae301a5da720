import type { ConditionType } from '../shared/heal-policy';
import type { StatusReport } from './probes';

/** Something on the status page that a person should look at: what is wrong, and what to do about it. */
export interface Problem {
  readonly title: string;
  readonly detail: string;
  readonly todo: string;
}

/** What heal does about a False condition, and what a person does when that is not enough. */
const CONDITION_TODO: Record<ConditionType, (reason: string, id: string) => string> = {
  DropletActive: (reason) =>
    reason === 'DropletMissing'
      ? 'Heal replaces the droplet with a new one. If that keeps failing, check the DigitalOcean account (droplet limit, billing) and the token\'s droplet scopes.'
      : 'Heal powers the droplet on or power-cycles it. If it stays so, look at the droplet in the DigitalOcean control panel.',
  SshReachable: (reason, id) =>
    reason === 'HostKeyMismatch'
      ? `The droplet answers SSH with another host key, so nothing is sent to it. Find out who rebuilt or replaced it; then move to a fresh droplet with trigger-ops migrate -i ${id} --size <its size>.`
      : `Heal power-cycles the droplet. If it stays unreachable, check that firewall tops-${id}-fw lets SSH in from the controller.`,
  DockerRunning: (_reason, id) => `Heal starts Docker. If it stays stopped, read trigger-ops logs -i ${id} and the droplet's journal (systemctl status docker).`,
  SupervisorRunning: (_reason, id) => `Heal restarts the supervisor. If it keeps restarting, read its log: trigger-ops logs -i ${id} --source supervisor.`,
  SupervisorConnected: (reason, id) =>
    reason === 'WrongVersion'
      ? 'Heal applies the desired version again. If it stays so, the image tag may not exist: upgrade to a published tag.'
      : `Heal restarts the supervisor. If it stays disconnected, check that the webapp answers and read trigger-ops logs -i ${id} --source all.`,
  ConfigCurrent: () => 'Heal applies the desired configuration again. A change made by hand on the droplet is undone.',
  CredentialsAccepted: (_reason, id) =>
    `The webapp refuses the supervisor's worker token. Set TRIGGER_WORKER_TOKEN or TRIGGER_ADMIN_TOKEN on the controller, then deploy again (trigger-ops deploy -i ${id}).`,
  DiskHasRoom: (_reason, id) => `Heal prunes unused images. If the disk stays short, move to a bigger size: trigger-ops migrate -i ${id} --size <bigger size>.`,
};

const UNAVAILABLE_TODO: Record<NonNullable<StatusReport['unavailable']>['kind'], (id: string) => string> = {
  'not-started': () => 'If it says it is starting, wait a moment and reload; otherwise fix what it names and restart the service.',
  'not-deployed': (id) => `Nothing is deployed yet. The controller deploys when it is configured; by hand: trigger-ops deploy -i ${id}.`,
  'temporal-unreachable': () => 'Check TEMPORAL_ADDRESS (unset, the controller runs its own Temporal server) and that the server is up.',
  'no-answer': () => 'The controller\'s worker did not answer. Check the controller\'s log; restarting the service starts a new worker.',
};

/** Everything that needs a person, most urgent first, derived from the report alone (pure: `now` is epoch ms). */
export function problemsFrom(report: StatusReport, now: number): Problem[] {
  const id = report.installationId;
  const problems: Problem[] = [];
  if (report.configurationError) {
    problems.push({
      title: 'The controller\'s configuration is wrong',
      detail: report.configurationError,
      todo: 'Fix the variable named above in the controller\'s service variables; the controller tries again when it restarts.',
    });
  }
  if (report.unavailable) {
    problems.push({ title: 'The installation\'s status cannot be read', detail: report.unavailable.message, todo: UNAVAILABLE_TODO[report.unavailable.kind](id) });
  }
  const s = report.status;
  if (!s) return problems;
  for (const c of s.conditions) {
    if (c.status !== 'False') continue;
    problems.push({ title: `${c.type} is False (${c.reason})`, detail: `${c.message}; since ${c.since}`, todo: CONDITION_TODO[c.type](c.reason, id) });
  }
  const lastHeal = s.healEvents[0];
  if (lastHeal?.decision === 'needs-operator') {
    problems.push({ title: 'Heal will not repair this by itself', detail: lastHeal.reason, todo: 'Act on the reason above, then ask for a check: trigger-ops heal -i ' + id + '.' });
  }
  const backoffUntil = s.repairs.backoffUntil === null ? NaN : Date.parse(s.repairs.backoffUntil);
  if (backoffUntil > now) {
    problems.push({
      title: 'Heal is backing off',
      detail: `${s.repairs.consecutiveFailures} repair(s) in a row failed; the next one waits until ${s.repairs.backoffUntil}.`,
      todo: `Read the last heal decisions below and trigger-ops logs -i ${id}; once the cause is fixed, trigger-ops heal -i ${id}.`,
    });
  }
  if (s.repairs.capPerHour > 0 && s.repairs.lastHour >= s.repairs.capPerHour) {
    problems.push({
      title: 'Heal reached its repair cap',
      detail: `${s.repairs.lastHour} repairs in the last hour (cap ${s.repairs.capPerHour}); heal only observes until the hour has passed.`,
      todo: 'Something breaks again after every repair: read the recent operations and heal decisions below to find what.',
    });
  }
  for (const o of s.orphans) {
    problems.push({
      title: `Orphan ${o.kind} ${o.name} (id ${o.id})`,
      detail: `${o.reason}; first seen ${o.since}`,
      todo: o.removable
        ? `Nothing to do: heal removes it ${s.settings.orphanGraceSeconds} s after it was first seen.`
        : 'trigger-ops never removes it (not a name it gives): delete it in DigitalOcean, or remove its trigger-ops tags if it is yours.',
    });
  }
  const last = s.recent[0];
  if (last && (last.outcome === 'failed' || last.outcome === 'rolled-back')) {
    problems.push({
      title: `The last operation (${last.kind}) ${last.outcome === 'failed' ? 'failed' : 'was rolled back'}`,
      detail: last.message,
      todo: 'Fix the cause named above, then run the operation again.',
    });
  }
  return problems;
}
