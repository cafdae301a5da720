import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { DeploymentRecord } from '../railway';
import { SendEmailCommand, sesClientFor } from './ses-client';

/**
 * The webapp's email: which transport a deployment uses (services/email.server.ts reads EMAIL_TRANSPORT and the
 * transport's variables once, at start), and what each does with a message. No transport prints the message in
 * the console transport's format (internal-packages/emails/src/transports/null.ts); smtp really sends through
 * nodemailer, as the real webapp does; resend and aws-ses call their HTTP APIs (the sandbox's stand-ins), SES with SigV4-signed requests.
 */

export interface OutgoingEmail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

export interface MailEndpoints {
  /** Base URL of the Resend API (https://api.resend.com for real; the sandbox's stand-in). */
  readonly resendUrl?: string | undefined;
  /** Base URL of SES v2 for every region (https://email.<region>.amazonaws.com for real; the sandbox's stand-in). */
  readonly sesUrl?: string | undefined;
}

export interface Mailer {
  readonly transport: 'console' | 'smtp' | 'resend' | 'aws-ses';
  /** Throws like the upstream transports ("Failed to send email to …" is logged by the caller). */
  send(email: OutgoingEmail, log: (line: string) => void): Promise<void>;
}

const DEFAULT_FROM = 'team@email.trigger.dev';
const DEFAULT_REPLY_TO = 'help@email.trigger.dev';

/** env.server.ts's BoolEnv: "true"/"1" are true. */
const boolEnv = (v: string | undefined) => v === 'true' || v === '1';

export function mailerFor(deployment: DeploymentRecord, endpoints: MailEndpoints): Mailer {
  const env = deployment.variables;
  const from = env['FROM_EMAIL'] || DEFAULT_FROM;
  const replyTo = env['REPLY_TO_EMAIL'] || DEFAULT_REPLY_TO;
  switch (env['EMAIL_TRANSPORT']) {
    case 'smtp': {
      const client = nodemailer.createTransport({
        host: env['SMTP_HOST'] ?? 'localhost',
        port: Number(env['SMTP_PORT'] ?? 587),
        secure: boolEnv(env['SMTP_SECURE']),
        ...(env['SMTP_USER'] !== undefined && { auth: { user: env['SMTP_USER'], pass: env['SMTP_PASSWORD'] ?? '' } }),
        connectionTimeout: 5000,
        greetingTimeout: 5000,
        socketTimeout: 5000,
      });
      return { transport: 'smtp', send: async (m) => void (await client.sendMail({ from, to: m.to, replyTo, subject: m.subject, text: m.text })) };
    }
    case 'resend':
      return {
        transport: 'resend',
        async send(m) {
          // The Resend SDK: POST /emails, Bearer key, JSON body; failures come back as { name, message }.
          const res = await fetch(`${(endpoints.resendUrl ?? 'https://api.resend.com').replace(/\/+$/, '')}/emails`, {
            method: 'POST',
            headers: { authorization: `Bearer ${env['RESEND_API_KEY'] ?? ''}`, 'content-type': 'application/json', 'user-agent': 'resend-node:sandbox' },
            body: JSON.stringify({ from, to: m.to, reply_to: replyTo, subject: m.subject, text: m.text }),
          });
          if (!res.ok) {
            const body = (await res.json().catch(() => ({}))) as { name?: string; message?: string };
            throw Object.assign(new Error(body.message ?? `HTTP ${res.status}`), { name: body.name ?? 'application_error' });
          }
        },
      };
    case 'aws-ses':
      return {
        transport: 'aws-ses',
        async send(m) {
          // aws-ses.ts: nodemailer's SES transport over `new SESv2Client()` (raw MIME, SendEmailCommand).
          const client = nodemailer.createTransport({ SES: { sesClient: sesClientFor(env, endpoints.sesUrl), SendEmailCommand } });
          await client.sendMail({ from, to: m.to, replyTo, subject: m.subject, text: m.text });
        },
      };
    default:
      return {
        transport: 'console',
        async send(m, log) {
          // console.log of `\n##### sendEmail to …\n\n<text>\n    `: one Railway log entry per line.
          for (const line of `\n##### sendEmail to ${m.to}, subject: ${m.subject}\n\n${m.text}\n    `.split('\n')) log(line);
        },
      };
  }
}

/** A magic-link token: what remix-auth-email-link puts in `/magic?token=`. */
export function newMagicToken(): string {
  return randomBytes(48).toString('base64url');
}

/** The plain text of the webapp's magic-link email (emails/magic-link.tsx, rendered as text). */
export function magicLinkEmail(to: string, magicLink: string): OutgoingEmail {
  return {
    to,
    subject: 'Magic sign-in link for Trigger.dev',
    text: [
      'Log in to Trigger.dev',
      '',
      'Click here to log in with this magic link ( ' + magicLink + ' )',
      '',
      "If you didn't try to log in, you can safely ignore this email.",
    ].join('\n'),
  };
}
