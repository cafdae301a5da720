import type { ActivityOptions, RetryPolicy } from '@temporalio/common';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from './errors';
import type { Activities } from '../activities';

/**
 * The timing contract: every activity's start-to-close, heartbeat and retry, in one table keyed by activity name.
 * Workflows take their options from here (src/workflows/activities.ts); activities take their inner waits and client
 * timeouts from BOUNDS, so test/unit/activity-contract.test.ts can prove that every inner bound fits inside its
 * start-to-close and that everything slow heartbeats. Real clouds are slow: a droplet is active in 30–60 s,
 * cloud-init takes 60–180 s, a supervisor image pull 20–90 s, a Railway redeploy 1–10 min.
 *
 * This module is imported by workflows: no I/O, no Node built-ins, types only from the activities.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Every inner wait and client timeout an activity uses, by name (ms unless the name says seconds). */
export const BOUNDS = {
  /** One DigitalOcean API request (dots-wrapper's requestTimeoutInMs). */
  digitaloceanRequestMs: 15 * SECOND,
  /** One Railway GraphQL request. */
  railwayRequestMs: 30 * SECOND,
  /** One request to the Trigger.dev webapp. */
  webappRequestMs: 15 * SECOND,
  /** One request to the Temporal service (schedules, signals, updates). */
  temporalRequestMs: 15 * SECOND,
  /** SSH connect and handshake. */
  sshConnectMs: 15 * SECOND,
  /** `trigger-ops-agent status`. */
  agentStatusMs: 30 * SECOND,
  /** `apply`: includes the supervisor image pull (20–90 s on a real droplet; a slow registry takes longer). */
  agentApplyMs: 10 * MINUTE,
  /** `upgrade` / `rollback`: pull, then recreate; the agent's own wait for the container is inside this. */
  agentRecreateMs: 10 * MINUTE,
  /** How long the agent waits for the recreated container to run. */
  agentRecreateWaitSeconds: 60,
  agentRestartMs: 2 * MINUTE,
  agentStopMs: 2 * MINUTE,
  agentPruneMs: 5 * MINUTE,
  agentLogsMs: 1 * MINUTE,
  agentCancelMs: 1 * MINUTE,
  /** `systemctl start docker`. */
  startDockerMs: 1 * MINUTE,
  /** One `wait-cloud-init` call: the wait reconnects after each, so a dropped connection costs little. */
  cloudInitChunkSeconds: 60,
  /** A Railway redeploy of the webapp and its health check (1–10 min). */
  webappRedeployMs: 12 * MINUTE,
  /** The webapp's deployments whose logs are searched for printed emails (newest first). */
  emailLogDeployments: 3,
  /** Pages of deployment log read per deployment, newest first, and the lines of one page. */
  emailLogPages: 5,
  emailLogPageLines: 1000,
  /** How long `login` looks for the magic link in the log after the webapp accepted the request (log ingestion). */
  magicLinkLogWaitMs: 1 * MINUTE,
  /** How long verification watches the log for a console fallback after the webapp accepted the request. */
  emailFallbackWatchMs: 10 * SECOND,
  /** Deploy log pages searched for the bootstrap banner. */
  bootstrapLogDeployments: 10,
  /** How long a deploy waits for an existing installation's current operation to finish. */
  installationTurnMs: 60 * MINUTE,
  /** Droplets of one installation an activity visits one by one (the serving one, a migrate's new one, strays). */
  dropletsPerInstallation: 3,
  /**
   * The longest settle window TRIGGER_OPS_CREATE_SETTLE_SECONDS may set: how long after a create whose answer was
   * lost DigitalOcean may still carry it out (its create latency, with room), before ensureDroplet creates again.
   */
  createSettleMaxSeconds: 600,
  /** A settle window polls by tag and by name at most this often (two requests each time). */
  createSettlePollMs: 2 * SECOND,
  /**
   * How long one read of the `trigger-ops` droplet list serves every installation's heal check on a worker
   * (src/activities/digitalocean/shared-list.ts): under the default heal interval (60 s), so each cycle reads once.
   */
  sharedDropletListMs: 30 * SECOND,
  /** Orphans one deleteOrphans call removes (two requests each); heal sweeps the rest on its next check. */
  orphansPerSweep: 5,
  /** Connecting to the webapp's PostgreSQL (TCP, TLS, authentication). */
  postgresConnectMs: 15 * SECOND,
  /** How long `db migrate` waits for Prisma's migration lock held by another migrator (a booting webapp). */
  migrationLockWaitMs: 5 * MINUTE,
  /**
   * Applying a whole chain once the lock is held: ~2 s for v4.5.12's 819 migrations on a local server, ~8 s at
   * 20 ms RTT (npm run bench); a big production database's data migrations take longer.
   */
  migrationChainMs: 20 * MINUTE,
  /** After a deadlocked concurrent index build, how long to wait for sessions blocked on Prisma's lock to give up. */
  migrationWaitersGoneMs: 30 * SECOND,
} as const;

/** Worker liveness: a step that heartbeats is retried on another worker this long after its worker died. */
export const HEARTBEAT_TIMEOUT_MS = 20 * SECOND;
/** Every heartbeating activity heartbeats on a timer this often (and on each progress report). */
export const HEARTBEAT_EVERY_MS = HEARTBEAT_TIMEOUT_MS / 3;
/** Any activity that may run longer than this must heartbeat. */
export const LONGEST_SILENT_MS = 2 * MINUTE;
/** The largest timeout a caller may pass (the settings' maximum boot and health timeouts). */
const MAX_TIMEOUT_SECONDS = 3600;

const nonRetryableErrorTypes = [...NON_RETRYABLE_ERROR_TYPES];

/** Named retry policies. */
export const RETRY = {
  /** A cloud call: retried with backoff (429s wait for retry-after through nextRetryDelay). */
  call: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8, nonRetryableErrorTypes },
  /** A long wait: a retry mostly means the worker died; the wait resumes. */
  wait: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes },
  /** A read whose answer is itself the observation: a failed look is simply taken again soon. */
  observe: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 3, nonRetryableErrorTypes },
  /** An undo: retried until it succeeds, except when the credentials are refused or the resource is not ours. */
  undo: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: [ErrorType.AuthError, ErrorType.HostKeyMismatch, ErrorType.NotOwned],
  },
  /** A step that must not happen twice (it sends an email): one attempt; the caller decides. */
  once: { maximumAttempts: 1, nonRetryableErrorTypes },
  /** Touching something that may be gone (a dead old droplet): a couple of tries, then the caller goes on. */
  bestEffort: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 2, nonRetryableErrorTypes },
} as const satisfies Record<string, RetryPolicy>;
export type RetryName = keyof typeof RETRY;

export interface Timing<I> {
  /** Changes something outside (a cloud resource, the droplet, Railway, Temporal state). */
  readonly mutating: boolean;
  /** Running it again with the same input ends in the same state (find-or-create, delete tolerates 404, op ids). */
  readonly idempotent: boolean;
  readonly retry: RetryName;
  /** How long one attempt may take; a function of the input where a caller chooses a timeout. */
  readonly startToCloseMs: (input: I) => number;
  /** The worst case of every inner wait and client timeout the activity goes through, one after another. */
  readonly inner: (input: I) => readonly number[];
  /** Heartbeats (on a timer while in flight): a dead worker's attempt is retried after HEARTBEAT_TIMEOUT_MS. */
  readonly heartbeat: boolean;
  /** For a bound that depends on the input: the input with the largest bound, and the most it may then be. */
  readonly worst?: { readonly input: I; readonly maxStartToCloseMs: number };
}

type Input<K extends keyof Activities> = Parameters<Activities[K]>[0];
export type ActivityName = keyof Activities;
export type Contract = { readonly [K in ActivityName]: Timing<Input<K>> };

const s = (seconds: number) => seconds * SECOND;
const times = (n: number, ms: number): number[] => Array.from({ length: n }, () => ms);
const fixed = (ms: number) => () => ms;
const { digitaloceanRequestMs: DO, railwayRequestMs: RW, webappRequestMs: WEB, temporalRequestMs: TEMPORAL, sshConnectMs: SSH } = BOUNDS;
const DROPLETS = BOUNDS.dropletsPerInstallation;
const HOST = { installationId: 'x', ipv4: '127.0.0.1' };
/** One read of the webapp's logs for printed emails: the deployment list, then every page of each deployment. */
const EMAIL_LOG_READ = [RW, ...times(BOUNDS.emailLogDeployments * BOUNDS.emailLogPages, RW)];

// Every activity heartbeats on a timer, even a quick call: when its worker dies (SIGKILL, an OOM, a lost container),
// Temporal retries it elsewhere after HEARTBEAT_TIMEOUT_MS, not after its whole start-to-close (minutes for a call
// that waits on a slow API). A call that ends before the first tick sends no heartbeat at all.
const readCall = { retry: 'call', heartbeat: true, mutating: false, idempotent: true } as const;
const change = { retry: 'call', heartbeat: true, mutating: true, idempotent: true } as const;
const undo = { retry: 'undo', heartbeat: true, mutating: true, idempotent: true } as const;
const waitFor = { retry: 'wait', heartbeat: true, mutating: false, idempotent: true } as const;
/** A long change on the droplet: heartbeats while the agent works, retried with the same op id (adopts its result). */
const longChange = { retry: 'call', heartbeat: true, mutating: true, idempotent: true } as const;

/** An upgrade or rollback: the agent's pull and recreate, then the health gate. */
const recreate = {
  ...longChange,
  retry: 'wait',
  startToCloseMs: (i: { healthTimeoutSeconds: number }) => BOUNDS.agentRecreateMs + s(i.healthTimeoutSeconds) + 2 * MINUTE,
  inner: (i: { healthTimeoutSeconds: number }) => [SSH, BOUNDS.agentRecreateMs, s(i.healthTimeoutSeconds), BOUNDS.agentStatusMs],
} as const;
const recreateWorst = {
  input: { ...HOST, version: 'v4.5.12', healthTimeoutSeconds: MAX_TIMEOUT_SECONDS, opId: 'x' },
  maxStartToCloseMs: 75 * MINUTE,
};

export const CONTRACT: Contract = {
  // --- the controller itself ---
  inspectWorker: { ...readCall, startToCloseMs: fixed(10 * SECOND), inner: () => [] },
  forgetInstallationSecrets: { ...change, startToCloseMs: fixed(10 * SECOND), inner: () => [] },

  // --- Railway and the webapp ---
  resolveRailwayTarget: { ...readCall, startToCloseMs: fixed(90 * SECOND), inner: () => times(2, RW) },
  preflightRailway: { ...readCall, startToCloseMs: fixed(2 * MINUTE), inner: () => [RW, RW, WEB] },
  checkSupervisorVersion: { ...readCall, startToCloseMs: fixed(10 * SECOND), inner: () => [] },
  ensureWebappSecrets: {
    ...longChange,
    startToCloseMs: fixed(15 * MINUTE),
    inner: () => [RW, RW, RW, RW, BOUNDS.webappRedeployMs],
  },
  removeWebappVariables: { ...undo, startToCloseMs: fixed(4 * MINUTE), inner: () => times(6, RW) },
  obtainWorkerToken: {
    ...longChange,
    startToCloseMs: fixed(6 * MINUTE),
    inner: () => [WEB, RW, ...times(BOUNDS.bootstrapLogDeployments, RW)],
  },
  probeWorkerCredentials: { ...readCall, startToCloseMs: fixed(75 * SECOND), inner: () => [RW, WEB] },
  webappLogs: { ...readCall, startToCloseMs: fixed(2 * MINUTE), inner: () => times(3, RW) },
  webappEverDeployed: { ...readCall, startToCloseMs: fixed(75 * SECOND), inner: () => [RW, RW] },

  // --- the webapp's PostgreSQL (reached with the URL from Railway's variables) ---
  planDatabaseMigrations: { ...readCall, startToCloseMs: fixed(2 * MINUTE), inner: () => [RW, RW, BOUNDS.postgresConnectMs, 30 * SECOND] },
  // Idempotent: a retry reads the history again and applies only what is still not recorded.
  applyDatabaseMigrations: {
    ...longChange,
    startToCloseMs: fixed(BOUNDS.migrationLockWaitMs + BOUNDS.migrationChainMs + 5 * MINUTE),
    inner: () => [RW, RW, BOUNDS.postgresConnectMs, BOUNDS.migrationLockWaitMs, BOUNDS.migrationChainMs, BOUNDS.migrationWaitersGoneMs],
  },

  // --- the webapp's email (Railway variables and logs, its login form) ---
  readEmailSettings: { ...readCall, startToCloseMs: fixed(90 * SECOND), inner: () => [RW, RW] },
  requestLoginLink: {
    retry: 'once',
    heartbeat: true,
    mutating: true,
    idempotent: false,
    startToCloseMs: fixed(20 * MINUTE),
    // Service, variables, the form, the log wait and, at its end, one full read of the logs.
    inner: () => [RW, RW, WEB, ...EMAIL_LOG_READ, BOUNDS.magicLinkLogWaitMs, ...EMAIL_LOG_READ],
  },
  listLoggedEmails: { ...readCall, heartbeat: true, startToCloseMs: fixed(10 * MINUTE), inner: () => [RW, RW, ...EMAIL_LOG_READ] },
  applyEmailSettings: { ...change, heartbeat: true, startToCloseMs: fixed(3 * MINUTE), inner: () => times(5, RW) },
  waitForEmailDeployment: { ...waitFor, startToCloseMs: fixed(15 * MINUTE), inner: () => [RW, BOUNDS.webappRedeployMs, RW, RW] },
  verifyEmailDelivery: {
    retry: 'once',
    heartbeat: true,
    mutating: true,
    idempotent: false,
    startToCloseMs: fixed(20 * MINUTE),
    inner: () => [RW, RW, WEB, ...EMAIL_LOG_READ, BOUNDS.emailFallbackWatchMs, ...EMAIL_LOG_READ],
  },
  restoreEmailSettings: { ...undo, startToCloseMs: fixed(17 * MINUTE), inner: () => [RW, RW, RW, RW, BOUNDS.webappRedeployMs, RW, RW] },
  forgetEmailSnapshot: { ...change, startToCloseMs: fixed(10 * SECOND), inner: () => [] },

  // --- DigitalOcean ---
  validateDropletPlacement: { ...readCall, startToCloseMs: fixed(75 * SECOND), inner: () => times(3, DO) },
  inspectInstallationResources: { ...readCall, startToCloseMs: fixed(45 * SECOND), inner: () => [DO] },
  listInstallationDroplets: { ...readCall, startToCloseMs: fixed(45 * SECOND), inner: () => [DO] },
  checkDropletOwnership: { ...readCall, startToCloseMs: fixed(45 * SECOND), inner: () => [DO] },
  findOrphans: { ...readCall, startToCloseMs: fixed(75 * SECOND), inner: () => times(3, DO) },
  ensureSshKey: { ...change, startToCloseMs: fixed(90 * SECOND), inner: () => times(4, DO) },
  ensureFirewall: { ...change, startToCloseMs: fixed(90 * SECOND), inner: () => times(4, DO) },
  ensureDroplet: {
    ...change,
    // A retry after a lost create answer waits out the settle window (configured, at most its maximum), polling.
    heartbeat: true,
    startToCloseMs: fixed(s(BOUNDS.createSettleMaxSeconds) + 2 * MINUTE),
    // Look by tag and name; the window, and its last look, which may start just before the window ends; create.
    inner: () => [DO, DO, s(BOUNDS.createSettleMaxSeconds), DO, DO, DO],
  },
  waitForDropletActive: {
    ...waitFor,
    startToCloseMs: (i) => s(i.timeoutSeconds) + MINUTE,
    inner: (i) => [s(i.timeoutSeconds), DO],
    worst: { input: { dropletId: 1, timeoutSeconds: MAX_TIMEOUT_SECONDS }, maxStartToCloseMs: 61 * MINUTE },
  },
  powerDroplet: {
    ...waitFor,
    mutating: true,
    startToCloseMs: (i) => s(i.timeoutSeconds) + MINUTE,
    inner: (i) => [DO, DO, s(i.timeoutSeconds), DO],
    worst: { input: { installationId: 'x', dropletId: 1, action: 'power_cycle', timeoutSeconds: MAX_TIMEOUT_SECONDS }, maxStartToCloseMs: 61 * MINUTE },
  },
  deleteSshKey: { ...undo, startToCloseMs: fixed(MINUTE), inner: () => times(2, DO) },
  deleteFirewall: { ...undo, startToCloseMs: fixed(MINUTE), inner: () => times(2, DO) },
  deleteDroplets: { ...undo, startToCloseMs: fixed(90 * SECOND), inner: () => [DO, ...times(DROPLETS, DO)] },
  deleteDropletByName: { ...undo, startToCloseMs: fixed(90 * SECOND), inner: () => [DO, ...times(DROPLETS, DO)] },
  deleteDroplet: { ...undo, startToCloseMs: fixed(45 * SECOND), inner: () => [DO, DO] },
  deleteInstallationTag: { ...undo, startToCloseMs: fixed(MINUTE), inner: () => [DO] },
  deleteOrphans: { ...longChange, startToCloseMs: fixed(4 * MINUTE), inner: () => times(2 * BOUNDS.orphansPerSweep + 1, DO) },

  // --- the droplet, over SSH through the agent ---
  waitForCloudInit: {
    ...waitFor,
    startToCloseMs: (i) => s(i.timeoutSeconds) + 2 * MINUTE,
    // The deadline, plus the last chunk, which may have started just before it.
    inner: (i) => [s(i.timeoutSeconds), SSH, s(BOUNDS.cloudInitChunkSeconds) + SSH],
    worst: { input: { ...HOST, timeoutSeconds: MAX_TIMEOUT_SECONDS }, maxStartToCloseMs: 62 * MINUTE },
  },
  applySupervisorConfig: { ...longChange, startToCloseMs: fixed(12 * MINUTE), inner: () => [RW, RW, DO, SSH, BOUNDS.agentApplyMs] },
  waitForSupervisorHealthy: {
    ...waitFor,
    startToCloseMs: (i) => s(i.timeoutSeconds) + 90 * SECOND,
    inner: (i) => [s(i.timeoutSeconds), SSH, BOUNDS.agentStatusMs],
    worst: { input: { ...HOST, supervisorVersion: 'v4.5.12', timeoutSeconds: MAX_TIMEOUT_SECONDS }, maxStartToCloseMs: 62 * MINUTE },
  },
  observeInstallation: {
    ...readCall,
    retry: 'observe',
    heartbeat: true,
    startToCloseMs: fixed(150 * SECOND),
    inner: () => [DO, SSH, BOUNDS.agentStatusMs, RW, WEB],
  },
  upgradeSupervisorOnDroplet: { ...recreate, worst: recreateWorst },
  rollbackSupervisorOnDroplet: { ...recreate, worst: recreateWorst },
  cancelDropletOperation: { ...undo, startToCloseMs: fixed(2 * MINUTE), inner: () => [SSH, BOUNDS.agentCancelMs] },
  restartSupervisor: { ...longChange, startToCloseMs: fixed(3 * MINUTE), inner: () => [SSH, BOUNDS.agentRestartMs] },
  stopSupervisor: { ...longChange, startToCloseMs: fixed(3 * MINUTE), inner: () => [SSH, BOUNDS.agentStopMs] },
  stopSupervisors: { ...undo, startToCloseMs: fixed(8 * MINUTE), inner: () => [DO, ...times(DROPLETS, SSH + BOUNDS.agentStopMs)] },
  startDocker: { ...change, startToCloseMs: fixed(2 * MINUTE), inner: () => [SSH, BOUNDS.startDockerMs] },
  pruneDocker: { ...longChange, startToCloseMs: fixed(6 * MINUTE), inner: () => [SSH, BOUNDS.agentPruneMs] },
  supervisorLogs: {
    ...readCall,
    heartbeat: true,
    startToCloseMs: fixed(5 * MINUTE),
    inner: () => [DO, ...times(DROPLETS, SSH + BOUNDS.agentLogsMs)],
  },

  // --- Temporal ---
  handOverInstallation: { ...change, startToCloseMs: fixed(90 * SECOND), inner: () => times(3, TEMPORAL) },
  acquireInstallation: {
    ...longChange,
    retry: 'wait',
    startToCloseMs: fixed(BOUNDS.installationTurnMs + 2 * MINUTE),
    inner: () => [TEMPORAL, BOUNDS.installationTurnMs],
  },
  releaseInstallation: { ...undo, startToCloseMs: fixed(45 * SECOND), inner: () => [TEMPORAL] },
  ensureHealSchedule: { ...change, startToCloseMs: fixed(90 * SECOND), inner: () => times(3, TEMPORAL) },
  retireInstallation: {
    ...undo,
    startToCloseMs: (i) => s(i.timeoutSeconds) + 2 * MINUTE,
    // Schedule, retire, the wait (and its last look), schedule again.
    inner: (i) => [TEMPORAL, TEMPORAL, s(i.timeoutSeconds), TEMPORAL, TEMPORAL],
    worst: { input: { installationId: 'x', timeoutSeconds: MAX_TIMEOUT_SECONDS }, maxStartToCloseMs: 62 * MINUTE },
  },
  endInstallation: { ...undo, startToCloseMs: fixed(90 * SECOND), inner: () => times(4, TEMPORAL) },
};

/** The options a workflow schedules an activity with, from the contract (optionally with another retry policy). */
export function activityOptions<K extends ActivityName>(name: K, input: Input<K>, retry?: RetryName): ActivityOptions {
  const entry = CONTRACT[name] as Timing<Input<K>>;
  return {
    startToCloseTimeout: entry.startToCloseMs(input),
    ...(entry.heartbeat ? { heartbeatTimeout: HEARTBEAT_TIMEOUT_MS } : {}),
    retry: RETRY[retry ?? entry.retry],
  };
}

/**
 * What is wrong with a contract, one sentence per broken rule (empty when it holds). Pure, so the test can also
 * show that a deliberately wrong entry is caught.
 */
export function contractViolations(contract: Readonly<Record<string, Timing<never>>>, activityNames: readonly string[]): string[] {
  const problems: string[] = [];
  for (const name of activityNames) if (!(name in contract)) problems.push(`${name}: no timing entry`);
  for (const [name, raw] of Object.entries(contract)) {
    const entry = raw as unknown as Timing<unknown>;
    if (!activityNames.includes(name)) problems.push(`${name}: an entry for an activity that does not exist`);
    const input = entry.worst?.input;
    const total = entry.startToCloseMs(input);
    const inner = entry.inner(input);
    const sum = inner.reduce((a, b) => a + b, 0);
    for (const bound of inner) {
      if (!(bound > 0)) problems.push(`${name}: inner bound ${bound} is not a positive number of ms`);
    }
    if (sum >= total) problems.push(`${name}: its inner waits and client timeouts add up to ${sum} ms, not less than its start-to-close ${total} ms`);
    if (entry.worst && total > entry.worst.maxStartToCloseMs) {
      problems.push(`${name}: start-to-close ${total} ms for the largest input exceeds its declared maximum ${entry.worst.maxStartToCloseMs} ms`);
    }
    if (total > LONGEST_SILENT_MS && !entry.heartbeat) {
      problems.push(`${name}: may run ${total} ms, longer than ${LONGEST_SILENT_MS} ms, without heartbeating`);
    }
    if (entry.heartbeat && HEARTBEAT_EVERY_MS > HEARTBEAT_TIMEOUT_MS / 3) {
      problems.push(`${name}: heartbeats every ${HEARTBEAT_EVERY_MS} ms, more than a third of its ${HEARTBEAT_TIMEOUT_MS} ms timeout`);
    }
    const attempts = (RETRY[entry.retry] as RetryPolicy).maximumAttempts;
    if (entry.mutating && !entry.idempotent && attempts !== 1) {
      problems.push(`${name}: changes something, is not idempotent, and is retried (maximumAttempts ${attempts ?? 'unlimited'})`);
    }
  }
  return problems;
}
