import { setTimeout as sleep } from 'node:timers/promises';
import Table from 'cli-table3';
import type { Command } from 'commander';
import type { Sealer } from '../codec/sealed-value';
import { loadCodec } from '../controller';
import type { LoggedEmail } from '../shared/email';
import { workflowIds } from '../shared/ids';
import { links } from '../workflows';
import { CliError, installationCommand, parseInstallation, withClient } from './context';
import { describeAge } from './login';

interface LinksFlags {
  installation: string;
  json?: boolean;
  follow?: boolean;
  interval: string;
}

export function registerLinks(program: Command): void {
  installationCommand(program, 'links', "list the magic links and invitations the webapp printed to its log (it has no email transport)")
    .option('-f, --follow', 'keep looking and print new ones as they appear (Ctrl-C stops)')
    .option('--interval <seconds>', 'with --follow: how often to look', '5')
    .action(async (flags: LinksFlags) => {
      const installationId = parseInstallation(flags.installation);
      const interval = Number(flags.interval);
      if (!Number.isInteger(interval) || interval < 1 || interval > 3600) throw new CliError(`Invalid --interval "${flags.interval}": whole seconds from 1 to 3600`, 2);
      await withClient(async (client, config) => {
        const sealer = loadCodec(config).sealer();
        const read = (since: string | undefined) =>
          client.workflow.execute(links, {
            taskQueue: config.temporal.taskQueue,
            workflowId: workflowIds.links(installationId),
            workflowIdConflictPolicy: 'TERMINATE_EXISTING',
            args: [{ installationId, ...(since !== undefined && { since }) }],
          });
        let r = await read(undefined);
        if (!flags.follow) {
          if (flags.json) process.stdout.write(`${JSON.stringify({ transport: r.transport, emails: r.emails.map((e) => opened(e, sealer)) })}\n`);
          else process.stdout.write(formatLinks(r.transport, r.emails, sealer));
          return;
        }
        const seen = new Set<string>();
        const print = (emails: readonly LoggedEmail[]) => {
          for (const e of emails) {
            const key = `${e.at}|${e.to}|${e.subject}`;
            if (seen.has(key)) continue;
            seen.add(key);
            const o = opened(e, sealer);
            process.stdout.write(flags.json ? `${JSON.stringify(o)}\n` : `${e.at}  ${e.kind}  to ${e.to}  "${e.subject}"  ${state(e)}\n  ${o.url ?? '(no link)'}\n`);
          }
        };
        if (!flags.json) process.stderr.write(`Following the webapp's log for printed emails every ${interval}s (Ctrl-C stops)…\n`);
        print(r.emails);
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        while (!stop.signal.aborted) {
          await sleep(interval * 1000, undefined, { signal: stop.signal }).catch(() => undefined);
          if (stop.signal.aborted) break;
          r = await read(r.until ?? undefined);
          print(r.emails);
        }
      }, installationId);
    });
}

function state(e: LoggedEmail): string {
  return e.superseded ? 'superseded' : e.expired ? 'expired' : e.kind === 'magic-link' ? 'valid' : '';
}

function opened(e: LoggedEmail, sealer: Sealer) {
  const { sealedUrl, ...rest } = e;
  return { ...rest, url: sealedUrl ? sealer.unseal(sealedUrl) : null };
}

export function formatLinks(transport: string, emails: readonly LoggedEmail[], sealer: Sealer): string {
  const note = transport === 'console' ? '' : `Email is configured (${transport}): new links are sent by email, not printed.\n`;
  if (emails.length === 0) return `${note}No magic links or invitations in the webapp's log.\n`;
  const now = Date.now();
  const table = new Table({ style: { head: [], border: [] }, head: ['when', 'to', 'subject', 'state'], wordWrap: true });
  const urls: string[] = [];
  emails.forEach((e, i) => {
    table.push([`${e.at} (${describeAge(e, now).split(/[;,]/)[0]})`, e.to, e.subject, state(e) || e.kind]);
    urls.push(`  [${i + 1}] ${e.to}: ${e.sealedUrl ? sealer.unseal(e.sealedUrl) : '(no link)'}`);
  });
  return `${note}${table.toString()}\n${urls.join('\n')}\n`;
}
