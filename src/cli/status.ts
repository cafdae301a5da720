import Table from 'cli-table3';
import type { Command } from 'commander';
import { emailStatus, type EmailStatus } from '../controller/email-status';
import { formatEmailState } from '../shared/email';
import type { InstallationStatus } from '../shared/lifecycle';
import { workflowIds } from '../shared/ids';
import { statusQuery } from '../shared/installation-messages';
import { installationCommand, parseInstallation, printResult, withClient } from './context';

export function registerStatus(program: Command): void {
  installationCommand(program, 'status', "show an installation's desired and observed state, conditions and recent operations").action(
    async (flags: { installation: string; json?: boolean }) => {
      const installationId = parseInstallation(flags.installation);
      await withClient(async (client, config) => {
        const status = await client.workflow.getHandle(workflowIds.installation(installationId)).query(statusQuery);
        const railway = status.desired ? { projectId: status.desired.railway.projectId, environmentId: status.desired.railway.environmentId } : {};
        const email = await emailStatus(client, config, installationId, railway);
        printResult(flags, { ...status, email }, () => formatStatus(status, email));
      }, installationId);
    },
  );
}

const plain = { style: { head: [] as string[], border: [] as string[] } };

export function formatStatus(s: InstallationStatus, email?: EmailStatus): string {
  const out: string[] = [];
  const healthy = s.conditions.length > 0 && s.conditions.every((c) => c.status === 'True');
  out.push(`Installation "${s.installationId}": ${s.conditions.length === 0 ? 'not observed yet' : healthy ? 'healthy' : 'NOT healthy'}${s.retiring ? ' (retiring)' : ''}`);

  const d = s.desired;
  const o = s.observed;
  const overview = new Table({ ...plain, head: ['', 'desired', 'observed'] });
  overview.push(
    ['supervisor', d?.supervisorVersion ?? '—', o?.supervisor.tag ?? '—'],
    ['droplet', d ? `${d.droplet.name} (id ${d.droplet.id})` : '—', o ? `${o.droplet.found ? o.droplet.status ?? '?' : 'missing'} ${o.droplet.ipv4 ?? ''}`.trim() : '—'],
    ['size / region', d ? `${d.size} / ${d.region}` : '—', ''],
    ['price', d?.monthlyPriceUsd !== undefined ? `$${d.monthlyPriceUsd.toFixed(2)}/month` : '—', ''],
    ['image', d?.image ?? '—', ''],
    ['config', d ? d.configHash.slice(0, 12) : '—', o?.config.hash ? o.config.hash.slice(0, 12) : '—'],
  );
  out.push(overview.toString());

  if (s.conditions.length > 0) {
    const conditions = new Table({ ...plain, head: ['condition', 'status', 'reason', 'since'], wordWrap: true, colWidths: [22, 9, 50, 26] });
    for (const c of s.conditions) conditions.push([c.type, c.status, `${c.reason}${c.message ? `: ${c.message}` : ''}`, c.since]);
    out.push(conditions.toString());
  }
  if (s.current) out.push(`Running: ${s.current.kind} (${s.current.step}) since ${s.current.startedAt}`);
  if (s.queue.length > 0) out.push(`Queued: ${s.queue.map((q) => q.kind).join(', ')}`);
  if (s.recent.length > 0) {
    const recent = new Table({ ...plain, head: ['operation', 'outcome', 'finished', 'message'], wordWrap: true, colWidths: [11, 12, 26, 60] });
    for (const r of s.recent.slice(0, 5)) recent.push([r.kind, r.outcome, r.finishedAt, r.message]);
    out.push(recent.toString());
  }
  for (const o of s.orphans) {
    out.push(`Orphan: ${o.kind} ${o.id} ("${o.name}") since ${o.since}: ${o.reason}${o.removable ? ` (removed ${s.settings.orphanGraceSeconds}s after it was first seen)` : ''}`);
  }
  const lastHeal = s.healEvents[0];
  if (lastHeal) out.push(`Last heal: ${lastHeal.decision} (${lastHeal.action}) at ${lastHeal.at}: ${lastHeal.reason}`);
  if (email) out.push('error' in email ? `Email: unknown (${email.error})` : formatEmailState(email));
  out.push(`Repairs in the last hour: ${s.repairs.lastHour}/${s.repairs.capPerHour}${s.repairs.backoffUntil ? `, backing off until ${s.repairs.backoffUntil}` : ''}`);
  return `${out.join('\n')}\n`;
}
