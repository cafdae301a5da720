import { z } from 'zod';
import { installationIdSchema } from './ids';

/**
 * The webapp's email settings, as its env.server.ts (v4.5.12) reads them: EMAIL_TRANSPORT picks resend, smtp or
 * aws-ses; unset, the webapp prints every email (magic links, invitations) to its log instead of sending it.
 * Settings are keyed by the Railway variable names, so an error names the variable the operator would set.
 * Imported by workflows: pure.
 */

export const EMAIL_TRANSPORTS = ['resend', 'smtp', 'aws-ses'] as const;
export type EmailTransport = (typeof EMAIL_TRANSPORTS)[number];

/** Every variable of one transport, besides EMAIL_TRANSPORT, FROM_EMAIL and REPLY_TO_EMAIL. */
export const TRANSPORT_VARIABLES: Readonly<Record<EmailTransport, readonly string[]>> = {
  resend: ['RESEND_API_KEY'],
  smtp: ['SMTP_HOST', 'SMTP_PORT', 'SMTP_SECURE', 'SMTP_USER', 'SMTP_PASSWORD'],
  'aws-ses': ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
};
export const COMMON_EMAIL_VARIABLES = ['EMAIL_TRANSPORT', 'FROM_EMAIL', 'REPLY_TO_EMAIL'] as const;
/** Every variable `email set`/`unset` may write or remove. */
export const EMAIL_VARIABLES: readonly string[] = [...COMMON_EMAIL_VARIABLES, ...Object.values(TRANSPORT_VARIABLES).flat()];
/** Variables whose values are credentials: sealed in inputs, masked in `email show`. */
export const SECRET_EMAIL_VARIABLES = ['RESEND_API_KEY', 'SMTP_PASSWORD', 'AWS_SECRET_ACCESS_KEY'] as const;
export type SecretEmailVariable = (typeof SECRET_EMAIL_VARIABLES)[number];

/** The CLI flag of each variable, for messages that must say what to change. */
export const EMAIL_FLAGS: Readonly<Record<string, string>> = {
  FROM_EMAIL: '--from',
  REPLY_TO_EMAIL: '--reply-to',
  RESEND_API_KEY: '--resend-key-file / --resend-key-stdin',
  SMTP_HOST: '--smtp-host',
  SMTP_PORT: '--smtp-port',
  SMTP_SECURE: '--smtp-secure',
  SMTP_USER: '--smtp-user',
  SMTP_PASSWORD: '--smtp-password-file / --smtp-password-stdin',
  AWS_REGION: '--aws-region',
  AWS_ACCESS_KEY_ID: '--aws-access-key-id',
  AWS_SECRET_ACCESS_KEY: '--aws-secret-file / --aws-secret-stdin',
  verifyTo: '--verify-to',
};

const address = z.email({ message: 'must be an email address (e.g. "Trigger.dev <login@example.com>" is not accepted: give login@example.com)' }).max(254);

/** AWS region names: us-east-1, eu-central-1, ap-southeast-2, us-gov-west-1, cn-north-1, … */
export const AWS_REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

/** The checks a secret's plain value must pass (the CLI before sealing it, the activity after opening it). */
export const SECRET_CHECKS: Readonly<Record<SecretEmailVariable, z.ZodString>> = {
  RESEND_API_KEY: z.string().regex(/^re_[A-Za-z0-9_]{8,}$/, { message: 'must be a Resend API key: "re_" followed by letters, digits and "_"' }),
  SMTP_PASSWORD: z.string().min(1, { message: 'must not be empty' }).max(1024).regex(/^[^\r\n]*$/, { message: 'must be one line' }),
  AWS_SECRET_ACCESS_KEY: z.string().regex(/^[A-Za-z0-9/+=]{40}$/, { message: 'must be an AWS secret access key: 40 characters of A-Z, a-z, 0-9, "/", "+", "="' }),
};

/**
 * The settings of one transport. `secret` is what a credential looks like here: its plain value (the CLI's first
 * check) or a sealed reference (in workflow inputs).
 */
function transportOptions(secret: (name: SecretEmailVariable) => z.ZodType<string>) {
  const common = { FROM_EMAIL: address, REPLY_TO_EMAIL: address.optional() };
  return [
    z.object({ transport: z.literal('resend'), ...common, RESEND_API_KEY: secret('RESEND_API_KEY') }).strict(),
    z
      .object({
        transport: z.literal('smtp'),
        ...common,
        SMTP_HOST: z
          .string()
          .min(1)
          .max(253)
          .regex(/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/, { message: 'must be a host name or IP address (e.g. smtp.example.com)' }),
        SMTP_PORT: z.number({ message: 'must be a port number from 1 to 65535' }).int({ message: 'must be a port number from 1 to 65535' }).min(1, { message: 'must be a port number from 1 to 65535' }).max(65535, { message: 'must be a port number from 1 to 65535' }),
        SMTP_SECURE: z.boolean({ message: 'must be true (TLS from the first byte, port 465) or false (STARTTLS, port 587 or 25)' }),
        SMTP_USER: z.string().min(1).max(512).optional(),
        SMTP_PASSWORD: secret('SMTP_PASSWORD').optional(),
      })
      .strict()
      .superRefine((s, ctx) => {
        if (s.SMTP_USER !== undefined && s.SMTP_PASSWORD === undefined) {
          ctx.addIssue({ code: 'custom', path: ['SMTP_PASSWORD'], message: `is required when SMTP_USER is set (give it with ${EMAIL_FLAGS['SMTP_PASSWORD']})` });
        }
        if (s.SMTP_PASSWORD !== undefined && s.SMTP_USER === undefined) {
          ctx.addIssue({ code: 'custom', path: ['SMTP_USER'], message: `is required when SMTP_PASSWORD is set (${EMAIL_FLAGS['SMTP_USER']})` });
        }
      }),
    z
      .object({
        transport: z.literal('aws-ses'),
        ...common,
        AWS_REGION: z.string().regex(AWS_REGION_PATTERN, { message: 'must be an AWS region such as us-east-1 or eu-west-2' }),
        AWS_ACCESS_KEY_ID: z.string().regex(/^(AKIA|ASIA)[A-Z0-9]{16}$/, { message: 'must be an AWS access key id: AKIA or ASIA and 16 capital letters or digits' }),
        AWS_SECRET_ACCESS_KEY: secret('AWS_SECRET_ACCESS_KEY'),
      })
      .strict(),
  ] as const;
}

export function emailSettingsSchema(secret: (name: SecretEmailVariable) => z.ZodType<string>) {
  return z.discriminatedUnion('transport', [...transportOptions(secret)], { error: transportError(EMAIL_TRANSPORTS) });
}

function transportError(accepted: readonly string[]) {
  return (issue: { code: string }) => (issue.code === 'invalid_union' ? `must be one of ${accepted.join(', ')}` : undefined);
}

export const SEALED_VALUE = z.string().regex(/^sealed:v1:[A-Za-z0-9_-]{38,}$/, {
  message: 'must be a sealed value ("sealed:v1:…", made by `trigger-ops email set`): secrets never travel in plain text',
});

export const sealedEmailSettingsSchema = emailSettingsSchema(() => SEALED_VALUE);
export type SealedEmailSettings = z.output<typeof sealedEmailSettingsSchema>;

const railwayScope = z.object({ projectId: z.string().min(1).optional(), environmentId: z.string().min(1).optional() }).strict().default({});

export const configureEmailInputSchema = z
  .object({
    installationId: installationIdSchema,
    railway: railwayScope,
    /** The settings to write, or `{ transport: "none" }` to remove them (the webapp logs emails again). */
    settings: z.discriminatedUnion('transport', [...transportOptions(() => SEALED_VALUE), z.object({ transport: z.literal('none') }).strict()], {
      error: transportError([...EMAIL_TRANSPORTS, 'none']),
    }),
    /** Where the verification magic link goes; default REPLY_TO_EMAIL. */
    verifyTo: address.optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.settings.transport !== 'none' && !input.verifyTo && !input.settings.REPLY_TO_EMAIL) {
      ctx.addIssue({ code: 'custom', path: ['verifyTo'], message: `is required when REPLY_TO_EMAIL is not set: the address a verification magic link is sent to (${EMAIL_FLAGS['verifyTo']})` });
    }
  });
export type ConfigureEmailInput = z.input<typeof configureEmailInputSchema>;

export interface ConfigureEmailResult {
  readonly outcome: 'configured' | 'removed' | 'unchanged';
  readonly transport: EmailTransport | 'none';
  readonly warnings: readonly string[];
  /** The address the verification link was sent to (null for unset). */
  readonly verifiedTo: string | null;
  readonly deploymentId: string | null;
  readonly message: string;
}

export const emailShowInputSchema = z.object({ installationId: installationIdSchema, railway: railwayScope }).strict();
export type EmailShowInput = z.input<typeof emailShowInputSchema>;

/** The email state of an installation's webapp, secrets masked: what `email show`, `status` and the status page show. */
export interface EmailState {
  /** False: the webapp prints emails (magic links, invitations) to its log. */
  readonly configured: boolean;
  readonly transport: EmailTransport | 'console';
  /** Every email variable that is set, secrets masked ("re_…(masked)"). */
  readonly settings: Readonly<Record<string, string>>;
  /** Why the settings would not work, if anything is off (an unknown EMAIL_TRANSPORT, a missing variable). */
  readonly problems: readonly string[];
}

/** Masks a credential for display: never more than its kind's prefix. */
export function maskSecret(name: string, value: string): string {
  const prefix = name === 'RESEND_API_KEY' && value.startsWith('re_') ? 're_' : '';
  return `${prefix}•••• (${value.length} characters)`;
}

/** What a webapp with these variables does with email (pure: workflows, the CLI and the status page use it). */
export function describeEmailState(variables: Readonly<Record<string, string>>): EmailState {
  const settings: Record<string, string> = {};
  for (const name of EMAIL_VARIABLES) {
    const value = variables[name];
    if (value === undefined || value === '') continue;
    settings[name] = (SECRET_EMAIL_VARIABLES as readonly string[]).includes(name) ? maskSecret(name, value) : value;
  }
  const raw = variables['EMAIL_TRANSPORT'];
  if (!raw) return { configured: false, transport: 'console', settings, problems: [] };
  if (!(EMAIL_TRANSPORTS as readonly string[]).includes(raw)) {
    return { configured: false, transport: 'console', settings, problems: [`EMAIL_TRANSPORT "${raw}" is not one of ${EMAIL_TRANSPORTS.join(', ')}: the webapp will not start`] };
  }
  const transport = raw as EmailTransport;
  const required = transport === 'smtp' ? ['SMTP_HOST', 'SMTP_PORT'] : TRANSPORT_VARIABLES[transport];
  const problems = required.filter((n) => !variables[n]).map((n) => `${n} is not set`);
  return { configured: true, transport, settings, problems };
}

/** One line for `trigger-ops status` and the status page. */
export function formatEmailState(state: EmailState): string {
  if (!state.configured) {
    return `Email: not configured: the webapp prints magic links to its log (trigger-ops login finds them; trigger-ops email set configures a transport)${state.problems.length ? ` (${state.problems.join('; ')})` : ''}`;
  }
  const where =
    state.transport === 'smtp'
      ? ` via ${state.settings['SMTP_HOST'] ?? '?'}:${state.settings['SMTP_PORT'] ?? '?'}`
      : state.transport === 'aws-ses'
        ? ` in ${state.settings['AWS_REGION'] ?? '?'}`
        : '';
  return `Email: ${state.transport}${where}, from ${state.settings['FROM_EMAIL'] ?? 'team@email.trigger.dev (the webapp default)'}${state.problems.length ? ` (${state.problems.join('; ')})` : ''}`;
}

/**
 * Settings that are valid but probably wrong, each with why. SMTP_SECURE=true means TLS from the first byte (port
 * 465); port 587 expects a plain start upgraded with STARTTLS, so the two disagree and the connection fails.
 */
export function emailSettingWarnings(settings: { transport: string; SMTP_PORT?: number; SMTP_SECURE?: boolean }): string[] {
  if (settings.transport !== 'smtp') return [];
  const warnings: string[] = [];
  if (settings.SMTP_SECURE === true && settings.SMTP_PORT === 587) {
    warnings.push('SMTP_SECURE=true with SMTP_PORT=587: port 587 speaks plain SMTP upgraded with STARTTLS, while SMTP_SECURE=true starts TLS at once; use --smtp-secure false with 587, or port 465');
  }
  if (settings.SMTP_SECURE === false && settings.SMTP_PORT === 465) {
    warnings.push('SMTP_SECURE=false with SMTP_PORT=465: port 465 expects TLS from the first byte (implicit TLS), while SMTP_SECURE=false starts in plain text; use --smtp-secure true with 465, or port 587');
  }
  return warnings;
}

/** The Railway variables of sealed settings: non-secret values as strings, secrets still sealed (opened by the activity). */
export function emailVariablesOf(settings: SealedEmailSettings): Record<string, string> {
  const vars: Record<string, string> = { EMAIL_TRANSPORT: settings.transport };
  for (const [name, value] of Object.entries(settings)) {
    if (name === 'transport' || value === undefined) continue;
    vars[name] = typeof value === 'string' ? value : String(value);
  }
  return vars;
}

// --- magic links in the webapp's log -------------------------------------------------------------------------------

/**
 * How long a Trigger.dev magic link works: remix-auth-email-link's default linkExpirationTime (30 min). The v4.5.12
 * sources kept in ../shared do not include the webapp's strategy set-up, so this is the library's default.
 */
export const MAGIC_LINK_LIFETIME_MS = 30 * 60 * 1000;

export const loginInputSchema = z.object({ installationId: installationIdSchema, railway: railwayScope, email: address }).strict();
export type LoginInput = z.input<typeof loginInputSchema>;

export const linksInputSchema = z
  .object({
    installationId: installationIdSchema,
    railway: railwayScope,
    /** Only what was printed at or after this time (ISO), for --follow. */
    since: z.iso.datetime().optional(),
  })
  .strict();
export type LinksInput = z.input<typeof linksInputSchema>;

/** An email the webapp printed to its log instead of sending it. The URL is sealed: it is a credential. */
export interface LoggedEmail {
  readonly kind: 'magic-link' | 'invitation' | 'other';
  readonly to: string;
  readonly subject: string;
  /** Sealed (sealed:v1:…), opened by the CLI only; null when the body had no link. */
  readonly sealedUrl: string | null;
  readonly at: string;
  /** For magic links: when it stops working. */
  readonly expiresAt: string | null;
  readonly expired: boolean;
  /** A newer magic link for the same address exists (only the newest one logs in). */
  readonly superseded: boolean;
}

export interface LoginResult {
  readonly email: string;
  readonly transport: EmailTransport | 'console';
  /** The webapp sent the link by email (a transport is configured): nothing to find in the log. */
  readonly sentByEmail: boolean;
  readonly link: LoggedEmail | null;
  readonly message: string;
}

export interface LinksResult {
  readonly transport: EmailTransport | 'console';
  /** Oldest first. */
  readonly emails: readonly LoggedEmail[];
  /** The newest log timestamp read, for the next --follow round. */
  readonly until: string | null;
}
