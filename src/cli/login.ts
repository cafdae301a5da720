import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Command } from 'commander';
import { loadCodec } from '../controller';
import { loginInputSchema, type LoggedEmail } from '../shared/email';
import { workflowIds } from '../shared/ids';
import { describeZodError } from '../shared/validation';
import { login } from '../workflows';
import { CliError, installationCommand, parseInstallation, printResult, withClient } from './context';

export function registerLogin(program: Command): void {
  installationCommand(program, 'login <email>', "get a magic link for the webapp: from its Railway log, or by email once a transport is set")
    .action(async (email: string, flags: { installation: string; json?: boolean }) => {
      const installationId = parseInstallation(flags.installation);
      const parsed = loginInputSchema.safeParse({ installationId, email });
      if (!parsed.success) throw new CliError(`Invalid login: ${describeZodError(parsed.error, 'login')}`, 2);
      await withClient(async (client, config) => {
        const sealer = loadCodec(config).sealer();
        const r = await client.workflow
          .execute(login, {
            taskQueue: config.temporal.taskQueue,
            workflowId: workflowIds.login(installationId),
            workflowIdConflictPolicy: 'FAIL',
            args: [parsed.data],
          })
          .catch((err: unknown) => {
            if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CliError(`a login request for "${installationId}" is already running: wait for it`, 4);
            throw err;
          });
        const url = r.link?.sealedUrl ? sealer.unseal(r.link.sealedUrl) : null;
        const now = Date.now();
        printResult(
          flags,
          { email: r.email, transport: r.transport, sentByEmail: r.sentByEmail, url, at: r.link?.at ?? null, expiresAt: r.link?.expiresAt ?? null },
          () => {
            if (r.sentByEmail) return `✓ The magic link for ${r.email} was sent by email (${r.transport}): open it from that inbox.\n`;
            if (!r.link || !url) return `✗ ${r.message}, but it has no URL\n`;
            return `Magic link for ${r.email} (${describeAge(r.link, now)}; it works once, in the browser you open it in):\n  ${url}\n`;
          },
        );
      }, installationId);
    });
}

/** "printed 4s ago, expires in 29m (12:34:56 UTC)", or why it no longer works. */
export function describeAge(link: LoggedEmail, now: number): string {
  const age = `printed ${duration(now - Date.parse(link.at))} ago`;
  if (link.superseded) return `${age}; superseded by a newer link to the same address`;
  if (!link.expiresAt) return age;
  const left = Date.parse(link.expiresAt) - now;
  return left <= 0 ? `${age}; expired ${duration(-left)} ago` : `${age}, expires in ${duration(left)} (${link.expiresAt.slice(11, 19)} UTC)`;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d`;
}
