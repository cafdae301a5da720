import { readFileSync } from 'node:fs';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import type { z } from 'zod';
import type { Config } from '../config';
import { loadCodec } from '../controller';
import {
  configureEmailInputSchema,
  EMAIL_FLAGS,
  EMAIL_TRANSPORTS,
  emailSettingsSchema,
  emailSettingWarnings,
  formatEmailState,
  SECRET_CHECKS,
  type ConfigureEmailInput,
  type EmailTransport,
  type SecretEmailVariable,
} from '../shared/email';
import { workflowIds } from '../shared/ids';
import { configureEmail, emailShow } from '../workflows';
import { CliError, installationCommand, parseInstallation, printResult, withClient } from './context';

interface SetFlags {
  installation: string;
  json?: boolean;
  from?: string;
  replyTo?: string;
  verifyTo?: string;
  smtpHost?: string;
  smtpPort?: string;
  smtpSecure?: string;
  smtpUser?: string;
  smtpPasswordFile?: string;
  smtpPasswordStdin?: boolean;
  resendKeyFile?: string;
  resendKeyStdin?: boolean;
  awsRegion?: string;
  awsAccessKeyId?: string;
  awsSecretFile?: string;
  awsSecretStdin?: boolean;
}

/** Which flags give each secret: a file or stdin, never argv (it would stay in shell history and `ps`). */
const SECRET_SOURCES: Record<SecretEmailVariable, { file: keyof SetFlags; stdin: keyof SetFlags }> = {
  RESEND_API_KEY: { file: 'resendKeyFile', stdin: 'resendKeyStdin' },
  SMTP_PASSWORD: { file: 'smtpPasswordFile', stdin: 'smtpPasswordStdin' },
  AWS_SECRET_ACCESS_KEY: { file: 'awsSecretFile', stdin: 'awsSecretStdin' },
};

const plainSettingsSchema = emailSettingsSchema((name) => SECRET_CHECKS[name]);

export function registerEmail(program: Command): void {
  const email = program.command('email').description("the webapp's email transport (magic links, invitations): set, show or unset it");

  installationCommand(email, 'set <transport>', `write the webapp's email settings, redeploy it, and verify delivery with one magic link (${EMAIL_TRANSPORTS.join(', ')})`)
    .option('--from <address>', 'FROM_EMAIL: the sender address')
    .option('--reply-to <address>', 'REPLY_TO_EMAIL; also where the verification link goes unless --verify-to')
    .option('--verify-to <address>', 'where the one verification magic link is sent (default: --reply-to)')
    .option('--smtp-host <host>', 'SMTP_HOST')
    .option('--smtp-port <port>', 'SMTP_PORT (1-65535; 587 for STARTTLS, 465 for TLS)')
    .option('--smtp-secure <bool>', 'SMTP_SECURE: true for TLS from the start (465), false for STARTTLS (587); default true only with 465')
    .option('--smtp-user <user>', 'SMTP_USER')
    .option('--smtp-password-file <path>', 'SMTP_PASSWORD, read from a file')
    .option('--smtp-password-stdin', 'SMTP_PASSWORD, read from stdin')
    .option('--resend-key-file <path>', 'RESEND_API_KEY (re_…), read from a file')
    .option('--resend-key-stdin', 'RESEND_API_KEY (re_…), read from stdin')
    .option('--aws-region <region>', 'AWS_REGION of SES, e.g. us-east-1')
    .option('--aws-access-key-id <id>', 'AWS_ACCESS_KEY_ID')
    .option('--aws-secret-file <path>', 'AWS_SECRET_ACCESS_KEY, read from a file')
    .option('--aws-secret-stdin', 'AWS_SECRET_ACCESS_KEY, read from stdin')
    .action(async (transport: string, flags: SetFlags) => {
      const installationId = parseInstallation(flags.installation);
      if (!(EMAIL_TRANSPORTS as readonly string[]).includes(transport)) {
        throw new CliError(`Invalid transport "${transport}": accepted: ${EMAIL_TRANSPORTS.join(', ')} (trigger-ops email unset removes the settings)`, 2);
      }
      const plain = await plainSettings(transport as EmailTransport, flags);
      const checked = plainSettingsSchema.safeParse(plain);
      if (!checked.success) throw new CliError(`Invalid email settings: ${describeIssues(checked.error)}. Nothing was changed.`, 2);
      for (const warning of emailSettingWarnings(checked.data)) process.stderr.write(`⚠ ${warning}\n`);
      await withClient(async (client, config) => {
        const sealer = loadCodec(config).sealer();
        const settings = Object.fromEntries(
          Object.entries(checked.data).map(([k, v]) => [k, k in SECRET_SOURCES && typeof v === 'string' ? sealer.seal(v) : v]),
        );
        const input = { installationId, settings, ...(flags.verifyTo !== undefined && { verifyTo: flags.verifyTo }) };
        const valid = configureEmailInputSchema.safeParse(input);
        if (!valid.success) throw new CliError(`Invalid email settings: ${describeIssues(valid.error)}. Nothing was changed.`, 2);
        process.stderr.write(`Writing the ${transport} settings to the webapp on Railway, waiting for its redeploy, then sending one verification magic link…\n`);
        const r = await run(client, config, installationId, valid.data);
        printResult(flags, r, () => `✓ ${r.message}.\n`);
      }, installationId);
    });

  installationCommand(email, 'show', "print the webapp's email transport and settings (secrets masked)").action(
    async (flags: { installation: string; json?: boolean }) => {
      const installationId = parseInstallation(flags.installation);
      await withClient(async (client, config) => {
        const state = await client.workflow.execute(emailShow, {
          taskQueue: config.temporal.taskQueue,
          workflowId: workflowIds.emailShow(installationId),
          workflowIdConflictPolicy: 'TERMINATE_EXISTING',
          args: [{ installationId }],
        });
        printResult(flags, state, () => {
          const lines = [formatEmailState(state)];
          for (const [name, value] of Object.entries(state.settings)) lines.push(`  ${name.padEnd(22)} ${value}`);
          return `${lines.join('\n')}\n`;
        });
      }, installationId);
    },
  );

  installationCommand(email, 'unset', "remove the webapp's email settings (it prints magic links to its log again) and redeploy it").action(
    async (flags: { installation: string; json?: boolean }) => {
      const installationId = parseInstallation(flags.installation);
      await withClient(async (client, config) => {
        const r = await run(client, config, installationId, { installationId, settings: { transport: 'none' } });
        printResult(flags, r, () => `✓ ${r.message}.\n`);
      }, installationId);
    },
  );
}

function run(client: Client, config: Config, installationId: string, input: ConfigureEmailInput) {
  return client.workflow
    .execute(configureEmail, {
      taskQueue: config.temporal.taskQueue,
      workflowId: workflowIds.email(installationId),
      workflowIdConflictPolicy: 'FAIL',
      args: [input],
    })
    .catch((err: unknown) => {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new CliError(`an email change for "${installationId}" is already running (workflow ${workflowIds.email(installationId)}): wait for it`, 4);
      }
      throw err;
    });
}

/** The flags as the settings of one transport (still plain; validated next, sealed after). */
async function plainSettings(transport: EmailTransport, flags: SetFlags): Promise<Record<string, unknown>> {
  const s: Record<string, unknown> = { transport };
  const put = (name: string, value: unknown) => {
    if (value !== undefined) s[name] = value;
  };
  put('FROM_EMAIL', flags.from ?? '');
  put('REPLY_TO_EMAIL', flags.replyTo);
  let stdinUsed: string | undefined;
  const secret = async (name: SecretEmailVariable, required: boolean) => {
    const src = SECRET_SOURCES[name];
    const file = flags[src.file] as string | undefined;
    const stdin = flags[src.stdin] === true;
    if (file !== undefined && stdin) throw new CliError(`${name}: give ${EMAIL_FLAGS[name]}, not both`, 2);
    if (file === undefined && !stdin) {
      if (required) throw new CliError(`Invalid email settings: ${name} (${EMAIL_FLAGS[name]}) is required for ${transport}. Nothing was changed.`, 2);
      return;
    }
    if (stdin && stdinUsed) throw new CliError(`stdin can give one secret only (it already gives ${stdinUsed}): use a file for ${name}`, 2);
    if (stdin) stdinUsed = name;
    let value: string;
    try {
      value = stdin ? await readStdin() : readFileSync(file as string, 'utf8');
    } catch (err) {
      throw new CliError(`${name}: cannot read ${stdin ? 'stdin' : `"${file}"`} (${err instanceof Error ? err.message : String(err)})`, 2);
    }
    put(name, value.replace(/\r?\n$/, ''));
  };
  if (transport === 'resend') await secret('RESEND_API_KEY', true);
  if (transport === 'smtp') {
    put('SMTP_HOST', flags.smtpHost ?? '');
    const port = flags.smtpPort === undefined ? undefined : Number(flags.smtpPort);
    put('SMTP_PORT', port ?? 'missing');
    put('SMTP_SECURE', flags.smtpSecure === undefined ? port === 465 : flags.smtpSecure === 'true' ? true : flags.smtpSecure === 'false' ? false : flags.smtpSecure);
    put('SMTP_USER', flags.smtpUser);
    await secret('SMTP_PASSWORD', false);
  }
  if (transport === 'aws-ses') {
    put('AWS_REGION', flags.awsRegion ?? '');
    put('AWS_ACCESS_KEY_ID', flags.awsAccessKeyId ?? '');
    await secret('AWS_SECRET_ACCESS_KEY', true);
  }
  return s;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** Each problem as `NAME (--flag): what is wrong`. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const name = issue.path.filter((p) => p !== 'settings').map(String).join('.') || 'transport';
      const flag = EMAIL_FLAGS[name];
      return `${name}${flag ? ` (${flag})` : ''}: ${issue.message}`;
    })
    .join('; ');
}
