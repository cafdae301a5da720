import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { formatStatus } from '../../src/cli/status';
import { createSealer } from '../../src/codec/sealed-value';
import { Redactor } from '../../src/activities/secrets/redactor';
import { parsePrintedEmails } from '../../src/activities/trigger/email-log';
import { describeEmailState, emailSettingWarnings, formatEmailState } from '../../src/shared/email';
import { DEFAULT_LIFECYCLE_SETTINGS, type InstallationStatus } from '../../src/shared/lifecycle';

const LINK = 'https://trigger.example.com/magic?token=eyJhbGciOiJkaXIi.abc-DEF_123';

describe('printed emails in the webapp log', () => {
  it('pairs a header with the link on a later line, as Railway stores one entry per line, in any order', () => {
    const entries = [
      { timestamp: '2026-08-21T10:00:00.000Z', message: '✅ server ready: http://localhost:3030' },
      { timestamp: '2026-08-21T10:00:05.001Z', message: 'Click here to log in with this magic link ( ' + LINK + ' )' },
      { timestamp: '2026-08-21T10:00:05.000Z', message: '' },
      { timestamp: '2026-08-21T10:00:05.000Z', message: '##### sendEmail to you@example.com, subject: Magic sign-in link for Trigger.dev' },
      { timestamp: '2026-08-21T10:00:05.001Z', message: 'Log in to Trigger.dev' },
      { timestamp: '2026-08-21T10:00:09.000Z', message: '##### sendEmail to new@example.com, subject: You have been invited to join Acme on Trigger.dev' },
      { timestamp: '2026-08-21T10:00:09.000Z', message: 'Accept: https://trigger.example.com/invites/accept?token=abcdefgh12345' },
    ];
    const emails = parsePrintedEmails(entries);
    assert.deepEqual(
      emails.map((e) => [e.to, e.kind, e.url]),
      [
        ['you@example.com', 'magic-link', LINK],
        ['new@example.com', 'invitation', 'https://trigger.example.com/invites/accept?token=abcdefgh12345'],
      ],
    );
  });

  it('reads a whole console.log in one entry too, and never takes a later log line as the body', () => {
    const whole = `\n##### sendEmail to a@example.com, subject: Magic sign-in link for Trigger.dev\n\nClick ( ${LINK} )\n    `;
    assert.equal(parsePrintedEmails([{ timestamp: '2026-08-21T10:00:00.000Z', message: whole }])[0]?.url, LINK);
    const late = parsePrintedEmails([
      { timestamp: '2026-08-21T10:00:00.000Z', message: '##### sendEmail to b@example.com, subject: Hello' },
      { timestamp: '2026-08-21T10:00:10.000Z', message: `someone else's ${LINK}` },
    ]);
    assert.equal(late[0]?.url, undefined, 'a line printed 10 s later is not the body');
  });
});

describe('email settings', () => {
  it('describes the state with secrets masked, and names what is missing', () => {
    const state = describeEmailState({ EMAIL_TRANSPORT: 'smtp', SMTP_HOST: 'smtp.example.com', SMTP_PASSWORD: 'hunter2-password', FROM_EMAIL: 'a@example.com' });
    assert.equal(state.configured, true);
    assert.equal(state.settings['SMTP_PASSWORD'], '•••• (16 characters)');
    assert.deepEqual(state.problems, ['SMTP_PORT is not set']);
    assert.match(formatEmailState(state), /^Email: smtp via smtp\.example\.com:\?, from a@example\.com \(SMTP_PORT is not set\)$/);
    assert.match(formatEmailState(describeEmailState({})), /^Email: not configured: the webapp prints magic links to its log/);
    assert.match(describeEmailState({ EMAIL_TRANSPORT: 'sendgrid' }).problems[0] ?? '', /not one of resend, smtp, aws-ses/);
  });

  it('warns when SMTP_SECURE and the port disagree, saying why', () => {
    assert.match(emailSettingWarnings({ transport: 'smtp', SMTP_PORT: 587, SMTP_SECURE: true })[0] ?? '', /587 speaks plain SMTP upgraded with STARTTLS/);
    assert.match(emailSettingWarnings({ transport: 'smtp', SMTP_PORT: 465, SMTP_SECURE: false })[0] ?? '', /465 expects TLS from the first byte/);
    assert.deepEqual(emailSettingWarnings({ transport: 'smtp', SMTP_PORT: 587, SMTP_SECURE: false }), []);
  });

  it('status ends with the email line', () => {
    const s: InstallationStatus = {
      installationId: 'prod', desired: null, observed: null, conditions: [], current: null, queue: [], recent: [], healEvents: [], orphans: [],
      repairs: { lastHour: 0, capPerHour: 6, backoffUntil: null, consecutiveFailures: 0 }, settings: DEFAULT_LIFECYCLE_SETTINGS, runs: 0, retiring: false,
    } as InstallationStatus;
    assert.match(formatStatus(s, { ...describeEmailState({ EMAIL_TRANSPORT: 'resend', RESEND_API_KEY: 're_abcdefgh1234', FROM_EMAIL: 'a@example.com' }), service: 'Trigger.dev' }), /\nEmail: resend, from a@example\.com\n/);
    assert.match(formatStatus(s, { error: 'Railway is not configured' }), /\nEmail: unknown \(Railway is not configured\)\n/);
  });
});

describe('credentials', () => {
  it('a sealed value opens only with the same codec key', () => {
    const key = randomBytes(32);
    const sealed = createSealer(key).seal('smtp-password');
    assert.match(sealed, /^sealed:v1:[A-Za-z0-9_-]{38,}$/);
    assert.ok(!sealed.includes('smtp-password'));
    assert.equal(createSealer(key).unseal(sealed), 'smtp-password');
    assert.throws(() => createSealer(randomBytes(32)).unseal(sealed), /sealed with another key/);
  });

  it('the redactor masks magic-link tokens, Resend keys and sealed values', () => {
    const out = new Redactor().redact(`link ${LINK} key re_live_abcdefgh1234 sealed ${createSealer(randomBytes(32)).seal('x')}`);
    assert.ok(!out.includes('eyJhbGciOiJkaXIi'));
    assert.ok(!out.includes('re_live_abcdefgh1234'));
    assert.ok(!out.includes('sealed:v1:'));
    assert.match(out, /magic\?token=\[redacted\]/);
  });
});
