import { ApplicationFailure } from '@temporalio/activity';
import type { Sealer } from '../../codec/sealed-value';
import { BOUNDS } from '../../shared/activity-contract';
import {
  COMMON_EMAIL_VARIABLES,
  describeEmailState,
  EMAIL_FLAGS,
  emailVariablesOf,
  MAGIC_LINK_LIFETIME_MS,
  SECRET_CHECKS,
  SECRET_EMAIL_VARIABLES,
  TRANSPORT_VARIABLES,
  type EmailState,
  type EmailTransport,
  type LoggedEmail,
  type SealedEmailSettings,
} from '../../shared/email';
import { ErrorType } from '../../shared/errors';
import { secretNames } from '../../shared/ids';
import { invalidInput } from '../failures';
import { pause, progress } from '../heartbeat';
import type { RailwayApi, RailwayVariableTarget } from '../railway/api';
import { findWebappService } from '../railway/services';
import type { Redactor } from '../secrets/redactor';
import type { SecretStore } from '../secrets/store';
import { isConsoleFallbackFor, parsePrintedEmails, type LogEntry, type WebappClient } from '../trigger';

export interface EmailStepDeps {
  readonly railway: RailwayApi;
  readonly webapp: (baseUrl: string) => WebappClient;
  readonly secrets: SecretStore;
  readonly sealer: Sealer;
  readonly redactor: Redactor;
  readonly pollIntervalMs: number;
}

interface Target {
  projectId: string;
  environmentId: string;
}

/** What `applyEmailSettings` keeps in the secret store until the operation is over: the variables to put back. */
interface Snapshot {
  readonly opId: string;
  /** Every email variable as it was (unrendered); a name absent here was not set. */
  readonly variables: Record<string, string>;
}

/**
 * The webapp's email, through Railway (its variables and deployment logs) and its login form. Magic links are
 * credentials: they leave these activities sealed (only the CLI opens them) and never enter a message.
 */
export function createEmailActivities(deps: EmailStepDeps) {
  const { railway } = deps;

  const webappTarget = async (t: Target): Promise<RailwayVariableTarget & { serviceId: string; serviceName: string }> => {
    const environment = await railway.getEnvironment(t.environmentId, t.projectId);
    const webapp = findWebappService(environment.serviceInstances);
    if (!webapp) throw ApplicationFailure.nonRetryable(`no Trigger.dev webapp service in Railway environment "${environment.name}"`, ErrorType.NotFound);
    return { ...t, serviceId: webapp.serviceId, serviceName: webapp.serviceName };
  };

  const appOrigin = (vars: Readonly<Record<string, string>>): string => {
    const origin = vars['APP_ORIGIN'] || vars['API_ORIGIN'];
    if (!origin) throw ApplicationFailure.nonRetryable("the webapp has no APP_ORIGIN on Railway: its login page cannot be reached", ErrorType.Rejected);
    return origin.replace(/\/+$/, '');
  };

  /** Every log line of the webapp's newest deployments at or after `since`, paging back in time, newest deployment first. */
  const readLogs = async (target: RailwayVariableTarget & { serviceId: string }, since: string | undefined): Promise<LogEntry[]> => {
    const deployments = await railway.listDeployments({ ...target, first: BOUNDS.emailLogDeployments });
    const entries: LogEntry[] = [];
    for (const deployment of deployments) {
      let endDate: string | undefined;
      const seen = new Set<string>();
      for (let page = 0; page < BOUNDS.emailLogPages; page++) {
        const lines = await railway.deploymentLogs(deployment.id, {
          limit: BOUNDS.emailLogPageLines,
          ...(since !== undefined && { startDate: since }),
          ...(endDate !== undefined && { endDate }),
        });
        // endDate is inclusive: the boundary instant's lines come again; keep each line once.
        const fresh = lines.filter((l) => {
          const key = `${l.timestamp}\u0000${l.message}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
        entries.push(...fresh);
        if (lines.length < BOUNDS.emailLogPageLines || fresh.length === 0) break;
        endDate = lines[0]?.timestamp;
      }
      if (since !== undefined && Date.parse(deployment.createdAt) < Date.parse(since)) break;
    }
    return entries;
  };

  /** The printed emails, with expiry and supersession worked out and every URL sealed. */
  const loggedEmails = (entries: readonly LogEntry[], now: number): LoggedEmail[] => {
    const printed = parsePrintedEmails(entries);
    return printed.map((e, i) => {
      const expiresAt = e.kind === 'magic-link' ? new Date(Date.parse(e.at) + MAGIC_LINK_LIFETIME_MS) : undefined;
      const superseded = e.kind === 'magic-link' && printed.slice(i + 1).some((later) => later.kind === 'magic-link' && later.to.toLowerCase() === e.to.toLowerCase());
      return {
        kind: e.kind,
        to: e.to,
        subject: e.subject,
        sealedUrl: e.url === undefined ? null : deps.sealer.seal(e.url),
        at: e.at,
        expiresAt: expiresAt?.toISOString() ?? null,
        expired: expiresAt !== undefined && expiresAt.getTime() <= now,
        superseded,
      };
    });
  };

  const transportOf = (state: EmailState): EmailTransport | 'console' => state.transport;

  /** Asks the webapp to send a magic link; throws, naming why, when it did not (rate limit, a failed send). */
  const askForLink = async (target: RailwayVariableTarget & { serviceId: string }, email: string) => {
    const vars = await railway.getVariables(target);
    const requestedAt = new Date(Date.now() - 1000).toISOString();
    const answer = await deps.webapp(appOrigin(vars)).requestMagicLink(email);
    if (answer.sent) return { requestedAt, state: describeEmailState(vars) };
    const lines = (await readLogs(target, requestedAt)).map((l) => l.message);
    const limited = lines.some((l) => /rate limit exceeded/i.test(l) && l.toLowerCase().includes(email.toLowerCase()));
    const failed = lines.find((l) => l.startsWith(`Failed to send email to ${email}`));
    throw ApplicationFailure.nonRetryable(
      limited
        ? `the webapp refused another magic link for ${email}: too many requests for that address (it rate-limits magic links per address); wait a minute and try again`
        : failed
          ? `the webapp could not send the magic link: ${deps.redactor.redact(failed)}`
          : `the webapp did not send a magic link to ${email} (it answered with the login page again): check the address and the webapp's log`,
      ErrorType.Rejected,
    );
  };

  const readSnapshot = async (installationId: string): Promise<Snapshot | undefined> => {
    const raw = await deps.secrets.get(secretNames(installationId).emailPrevious);
    return raw ? (JSON.parse(raw) as Snapshot) : undefined;
  };

  /** Writes `wanted` as the email variables: one change (so one redeploy); `replace` only when one must go. */
  const writeEmailVariables = async (target: RailwayVariableTarget & { serviceId: string }, wanted: Readonly<Record<string, string>>) => {
    const current = await railway.getVariables(target, { unrendered: true });
    const emailNames = new Set<string>([...COMMON_EMAIL_VARIABLES, ...Object.values(TRANSPORT_VARIABLES).flat()]);
    const removed = Object.keys(current).filter((n) => emailNames.has(n) && !(n in wanted));
    const changed = Object.entries(wanted).filter(([n, v]) => current[n] !== v).map(([n]) => n);
    if (removed.length === 0 && changed.length === 0) return { changed: false, removed, written: [] as string[] };
    if (removed.length === 0) {
      await railway.upsertVariables(target, wanted);
    } else {
      // Railway deletes one variable per call, each with its own redeploy; replace does it all in one change.
      const kept = Object.fromEntries(Object.entries(current).filter(([n]) => !removed.includes(n)));
      await railway.replaceVariables(target, { ...kept, ...wanted });
    }
    return { changed: true, removed, written: changed };
  };

  /** Waits for the webapp's deployment started at/after `since` to succeed and answer /healthcheck. */
  const waitForDeployment = async (target: RailwayVariableTarget & { serviceId: string }, since: string) => {
    const deadline = Date.now() + BOUNDS.webappRedeployMs;
    for (;;) {
      const latest = await railway.latestDeployment(target);
      const fresh = latest && Date.parse(latest.createdAt) >= Date.parse(since) ? latest : undefined;
      progress({ deployment: fresh?.status ?? 'waiting for Railway to start one' });
      if (fresh?.status === 'SUCCESS') {
        const vars = await railway.getVariables(target);
        for (;;) {
          const health = await deps.webapp(appOrigin(vars)).healthcheck();
          progress({ deployment: fresh.status, health: health.status ?? 'unreachable' });
          if (health.healthy) return { deploymentId: fresh.id, readyAt: new Date().toISOString() };
          if (Date.now() > deadline) throw ApplicationFailure.nonRetryable(`the webapp deployment ${fresh.id} does not answer /healthcheck`, ErrorType.Unavailable);
          await pause(deps.pollIntervalMs);
        }
      }
      if (fresh && ['FAILED', 'CRASHED', 'REMOVED', 'SKIPPED'].includes(fresh.status)) {
        const errors = (await railway.deploymentLogs(fresh.id, { limit: 20 })).filter((l) => l.severity === 'error').map((l) => l.message.trim());
        throw ApplicationFailure.nonRetryable(
          `the webapp's Railway deployment ${fresh.id} ended ${fresh.status}${errors.length ? `: ${deps.redactor.redact(errors.slice(-3).join(' / '))}` : ''}`,
          ErrorType.Rejected,
        );
      }
      if (Date.now() > deadline) {
        throw ApplicationFailure.nonRetryable(`the webapp's Railway redeploy did not succeed within ${BOUNDS.webappRedeployMs / 1000}s`, ErrorType.Unavailable);
      }
      await pause(deps.pollIntervalMs);
    }
  };

  return {
    /** The webapp's email state, secrets masked (email show, status). */
    async readEmailSettings(input: Target): Promise<EmailState & { service: string }> {
      const target = await webappTarget(input);
      return { ...describeEmailState(await railway.getVariables(target)), service: target.serviceName };
    },

    /** The login form's action for an address; then, without a transport, waits for the link in the webapp's log. */
    async requestLoginLink(input: Target & { email: string }) {
      const target = await webappTarget(input);
      const { requestedAt, state } = await askForLink(target, input.email);
      if (state.configured) return { transport: transportOf(state), sentByEmail: true, link: null };
      const deadline = Date.now() + BOUNDS.magicLinkLogWaitMs;
      for (;;) {
        // Railway ingests a deployment's output within seconds: look again until the link shows.
        const found = loggedEmails(await readLogs(target, requestedAt), Date.now()).filter(
          (e) => e.kind === 'magic-link' && e.to.toLowerCase() === input.email.toLowerCase(),
        );
        const link = found[found.length - 1];
        progress({ looking: 'for the magic link in the webapp log', found: found.length });
        if (link) return { transport: transportOf(state), sentByEmail: false, link };
        if (Date.now() > deadline) {
          throw ApplicationFailure.nonRetryable(
            `the webapp accepted the login request for ${input.email} but no magic link showed in its Railway log within ${BOUNDS.magicLinkLogWaitMs / 1000}s`,
            ErrorType.NotFound,
          );
        }
        await pause(deps.pollIntervalMs);
      }
    },

    /** Every email the webapp printed to its log (newest deployments), URLs sealed. */
    async listLoggedEmails(input: Target & { since?: string | undefined }) {
      const target = await webappTarget(input);
      const state = describeEmailState(await railway.getVariables(target));
      const entries = await readLogs(target, input.since);
      const until = entries.reduce<string | null>((max, e) => (max === null || e.timestamp > max ? e.timestamp : max), null);
      return { transport: transportOf(state), emails: loggedEmails(entries, Date.now()), until };
    },

    /**
     * Keeps the current email variables in the secret store (once per operation: a retry keeps the first copy),
     * opens and checks the sealed secrets, and writes the new variables in one change. `none` removes them.
     */
    async applyEmailSettings(input: Target & { installationId: string; opId: string; settings: SealedEmailSettings | { transport: 'none' } }) {
      const target = await webappTarget(input);
      const current = await railway.getVariables(target, { unrendered: true });
      const name = secretNames(input.installationId).emailPrevious;
      const existing = await readSnapshot(input.installationId);
      if (existing?.opId !== input.opId) {
        const emailNames = [...COMMON_EMAIL_VARIABLES, ...Object.values(TRANSPORT_VARIABLES).flat()];
        const variables = Object.fromEntries(emailNames.filter((n) => current[n] !== undefined).map((n) => [n, current[n] as string]));
        await deps.secrets.put(name, JSON.stringify({ opId: input.opId, variables } satisfies Snapshot));
      }
      const wanted: Record<string, string> = {};
      if (input.settings.transport !== 'none') {
        for (const [n, value] of Object.entries(emailVariablesOf(input.settings))) {
          if (!(SECRET_EMAIL_VARIABLES as readonly string[]).includes(n)) {
            wanted[n] = value;
            continue;
          }
          let plain: string;
          try {
            plain = deps.sealer.unseal(value);
          } catch (err) {
            throw invalidInput(`settings.${n}: ${err instanceof Error ? err.message : String(err)}`);
          }
          deps.redactor.add(plain);
          const checked = SECRET_CHECKS[n as keyof typeof SECRET_CHECKS].safeParse(plain);
          if (!checked.success) throw invalidInput(`settings.${n} (${EMAIL_FLAGS[n]}): ${checked.error.issues[0]?.message ?? 'invalid'}`);
          wanted[n] = plain;
        }
      }
      // Every email variable not in `wanted` goes: the old transport's, and this one's that are not given now.
      const since = new Date(Date.now() - 1000).toISOString();
      const written = await writeEmailVariables(target, wanted);
      return { ...written, since };
    },

    /** Waits for the redeploy the variable change started: SUCCESS, then /healthcheck. */
    async waitForEmailDeployment(input: Target & { since: string }) {
      return waitForDeployment(await webappTarget(input), input.since);
    },

    /**
     * Sends one magic link to the verification address and checks that the webapp sent it by email: it must
     * accept the request, log no send failure and print no console fallback for that address.
     */
    async verifyEmailDelivery(input: Target & { to: string }) {
      const target = await webappTarget(input);
      const { requestedAt, state } = await askForLink(target, input.to);
      if (!state.configured) throw ApplicationFailure.nonRetryable('EMAIL_TRANSPORT is not set on the webapp after the change', ErrorType.Rejected);
      // The webapp writes its log as it sends; give Railway's ingestion a moment before concluding nothing was printed.
      await pause(Math.min(BOUNDS.emailFallbackWatchMs, 5 * deps.pollIntervalMs));
      const lines = (await readLogs(target, requestedAt)).map((l) => l.message);
      if (lines.some((l) => isConsoleFallbackFor(l, input.to))) {
        throw ApplicationFailure.nonRetryable(`the webapp printed the verification email to ${input.to} to its log instead of sending it`, ErrorType.Rejected);
      }
      return { verifiedTo: input.to, transport: state.transport };
    },

    /** Compensation: puts back the email variables kept by applyEmailSettings and waits for that redeploy. */
    async restoreEmailSettings(input: Target & { installationId: string }) {
      const target = await webappTarget(input);
      const snapshot = await readSnapshot(input.installationId);
      if (!snapshot) return { restored: false };
      const since = new Date(Date.now() - 1000).toISOString();
      const written = await writeEmailVariables(target, snapshot.variables);
      if (written.changed) await waitForDeployment(target, since);
      await deps.secrets.delete(secretNames(input.installationId).emailPrevious);
      return { restored: written.changed };
    },

    /** The operation succeeded: the kept copy of the old variables is no longer needed. */
    async forgetEmailSnapshot(input: { installationId: string }) {
      await deps.secrets.delete(secretNames(input.installationId).emailPrevious);
      return { forgotten: true };
    },
  };
}
