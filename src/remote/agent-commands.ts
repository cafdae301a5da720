import { z } from 'zod';
import { imageTagSchema } from './compose';

/**
 * Commands for the droplet agent (src/remote/agent.sh), built by pure functions, and schemas for what each verb
 * prints. The SSH activity runs `command` (the droplet runs it with `bash -c`), writes `stdin` if any, and parses
 * stdout with `parseAgentOutput`, whatever the exit code: failures are JSON too.
 */

export interface AgentCommand {
  readonly command: string;
  /** Written to the command's stdin: how secrets (the .env) travel, never in argv. */
  readonly stdin?: string;
}

/**
 * The agent by name, not by absolute path: it is on root's PATH on a droplet (/usr/local/bin), and the sandbox puts
 * the droplet's own /usr/local/bin on PATH.
 */
export const AGENT_COMMAND = 'trigger-ops-agent';

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One shell word that bash reads back as exactly `value`: bare when harmless, else single-quoted. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('A shell argument cannot contain a NUL byte');
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function agent(...args: readonly string[]): string {
  return [AGENT_COMMAND, ...args].map(shellQuote).join(' ');
}

function positiveInt(name: string, value: number, max: number): string {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new Error(`${name} must be a whole number between 0 and ${max}, got ${value}`);
  }
  return String(value);
}

/** An operation id as the agent accepts it (`--op`, `cancel`): the name of one run, shared by its retries. */
export const AGENT_OPERATION_ID = /^[A-Za-z0-9_.:-]{1,200}$/;

function operationId(op: string): string {
  if (!AGENT_OPERATION_ID.test(op)) {
    throw new Error(`Invalid operation id ${JSON.stringify(op)}: expected 1 to 200 letters, digits, '_', '.', ':' or '-'`);
  }
  return op;
}

/** Options every state-changing verb takes (apply, upgrade, rollback, restart, stop, prune). */
export interface AgentOperationOptions {
  /**
   * The operation's id (`--op`): a retry with the same id waits for that run and adopts its answer (`adopted: true`)
   * instead of starting another; `agentCancelCommand(op)` stops it. Without it the verb still takes the lock.
   */
  readonly op?: string | undefined;
  /** How long the run waits for another operation's lock before it fails (default 900 s on the droplet). */
  readonly lockWaitSeconds?: number | undefined;
}

function operationArgs(options: AgentOperationOptions): string[] {
  const args: string[] = [];
  if (options.op !== undefined) args.push('--op', operationId(options.op));
  if (options.lockWaitSeconds !== undefined) args.push('--lock-wait', positiveInt('lockWaitSeconds', options.lockWaitSeconds, 86_400));
  return args;
}

function imageTag(tag: string): string {
  const parsed = imageTagSchema.safeParse(tag);
  if (!parsed.success) throw new Error(`Invalid supervisor tag ${JSON.stringify(tag)}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export function agentVersionCommand(): AgentCommand {
  return { command: agent('version') };
}

export function agentStatusCommand(): AgentCommand {
  return { command: agent('status') };
}

export interface AgentApplyInput extends AgentOperationOptions {
  /** The supervisor .env (buildSupervisorEnv): sent on stdin. */
  readonly env: string;
  /** The compose file (buildSupervisorCompose): no secrets, sent base64 in argv. */
  readonly compose: string;
  /** false: only write the files (`--no-start`). Default true: pull and `up -d`. */
  readonly start?: boolean;
}

export function agentApplyCommand(input: AgentApplyInput): AgentCommand {
  if (input.env.length === 0) throw new Error('apply needs the .env content');
  if (input.compose.length === 0) throw new Error('apply needs the compose file');
  const args = ['apply', '--compose-b64', Buffer.from(input.compose, 'utf8').toString('base64')];
  if (input.start === false) args.push('--no-start');
  return { command: agent(...args, ...operationArgs(input)), stdin: input.env };
}

export interface AgentWaitOptions {
  /** How long the agent waits for the recreated container to run (default 60 s on the droplet). */
  readonly waitSeconds?: number | undefined;
}

function waitArgs(options: AgentWaitOptions): string[] {
  return options.waitSeconds === undefined ? [] : ['--wait', positiveInt('waitSeconds', options.waitSeconds, 3600)];
}

export interface AgentUpgradeOptions extends AgentWaitOptions, AgentOperationOptions {}

export function agentUpgradeCommand(tag: string, options: AgentUpgradeOptions = {}): AgentCommand {
  return { command: agent('upgrade', imageTag(tag), ...waitArgs(options), ...operationArgs(options)) };
}

export interface AgentRollbackOptions extends AgentWaitOptions, AgentOperationOptions {
  /**
   * The version to return to (`--to`). A no-op when the droplet runs it already, so a retried rollback never puts
   * back the version it left. Without it: the previous configuration, whatever it is.
   */
  readonly to?: string | undefined;
}

export function agentRollbackCommand(options: AgentRollbackOptions = {}): AgentCommand {
  const to = options.to === undefined ? [] : ['--to', imageTag(options.to)];
  return { command: agent('rollback', ...to, ...waitArgs(options), ...operationArgs(options)) };
}

export function agentRestartCommand(options: AgentOperationOptions = {}): AgentCommand {
  return { command: agent('restart', ...operationArgs(options)) };
}

export function agentStopCommand(options: AgentOperationOptions = {}): AgentCommand {
  return { command: agent('stop', ...operationArgs(options)) };
}

export function agentLogsCommand(options: { readonly tail?: number } = {}): AgentCommand {
  const args = ['logs'];
  if (options.tail !== undefined) args.push('--tail', positiveInt('tail', options.tail, 10000));
  return { command: agent(...args) };
}

export function agentPruneCommand(options: AgentOperationOptions = {}): AgentCommand {
  return { command: agent('prune', ...operationArgs(options)) };
}

/** Stops the run of operation `op` if it has not begun switching the supervisor, and records it as cancelled. */
export function agentCancelCommand(op: string): AgentCommand {
  return { command: agent('cancel', operationId(op)) };
}

export function agentWaitCloudInitCommand(options: { readonly timeoutSeconds?: number } = {}): AgentCommand {
  const args = ['wait-cloud-init'];
  if (options.timeoutSeconds !== undefined) {
    args.push('--timeout', positiveInt('timeoutSeconds', options.timeoutSeconds, 3600));
  }
  return { command: agent(...args) };
}

// --- what each verb prints --------------------------------------------------------------------------------------

/**
 * On the answers of state-changing verbs: true when this answer is that of a run started earlier under the same
 * operation id (a retry adopted it), absent when this call did the work.
 */
const adopted = z.boolean().optional();

export const AgentFailure = z.object({ ok: z.literal(false), error: z.string() });
export type AgentFailure = z.infer<typeof AgentFailure>;

export const AgentVersion = z.object({ ok: z.literal(true), agentVersion: z.string() });
export type AgentVersion = z.infer<typeof AgentVersion>;

export const SupervisorContainerStatus = z.object({
  name: z.string(),
  exists: z.boolean(),
  /** Docker's State.Status: created, running, restarting, exited, … */
  state: z.string().nullable(),
  running: z.boolean().nullable(),
  restarting: z.boolean().nullable(),
  /** Docker health: starting, healthy, unhealthy; null without a healthcheck. */
  health: z.string().nullable(),
  restartCount: z.number().int().nullable(),
  startedAt: z.string().nullable(),
  image: z.string().nullable(),
  tag: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  /** The log since the container's current start contains "Connected to platform". */
  connectedToPlatform: z.boolean(),
  /** "Failed to connect" lines in the last 10 minutes (across restarts). */
  failedToConnectRecent: z.number().int(),
  lastFailedToConnect: z.string().nullable(),
});
export type SupervisorContainerStatus = z.infer<typeof SupervisorContainerStatus>;

/**
 * `status`: always a full report. `ok` is false (with `error`) when the Docker daemon is down; then `supervisor`
 * is null (unknown) and the rest is still filled in.
 */
export const AgentStatus = z.object({
  ok: z.boolean(),
  error: z.string().optional(),
  agentVersion: z.string(),
  time: z.string(),
  docker: z.object({ running: z.boolean(), error: z.string().nullable() }),
  /** cloud-init's status: done, running, error, … or unknown. */
  cloudInit: z.object({ status: z.string() }),
  supervisor: SupervisorContainerStatus.nullable(),
  disk: z
    .object({
      path: z.string(),
      totalBytes: z.number().nullable(),
      availableBytes: z.number().nullable(),
      freePercent: z.number().nullable(),
    })
    .nullable(),
  config: z.object({
    applied: z.boolean(),
    /** configHash() of the files on disk: compare with the desired configuration's hash to detect drift. */
    hash: z.string().nullable(),
    tag: z.string().nullable(),
    previousTag: z.string().nullable(),
    appliedAt: z.string().nullable(),
  }),
});
export type AgentStatus = z.infer<typeof AgentStatus>;

/** What every configuration change answers: whether it changed anything, and the config it left in place. */
const ConfigChange = z.object({ ok: z.literal(true), changed: z.boolean(), hash: z.string(), previousTag: z.string().nullable(), adopted });

/** `apply`: changed is false when the same configuration was already in place (previous.* left alone). */
export const AgentApplyResult = ConfigChange.extend({ started: z.boolean(), tag: z.string() });
export type AgentApplyResult = z.infer<typeof AgentApplyResult>;

/** `upgrade` and `rollback` (also `rollback --to` the tag already running: changed false). */
export const AgentRecreateResult = ConfigChange.extend({
  tag: z.string().nullable(),
  /** The container ran with the new tag within the wait. */
  running: z.boolean(),
  /** Upper bound of the gap between the old container's stop and the new one running; null if unchanged/timeout. */
  downtimeSeconds: z.number().nullable(),
});
export type AgentRecreateResult = z.infer<typeof AgentRecreateResult>;

export const AgentOk = z.object({ ok: z.literal(true), adopted });
export type AgentOk = z.infer<typeof AgentOk>;

export const AgentLogs = z.object({ ok: z.literal(true), container: z.string(), tail: z.number().int(), log: z.string() });
export type AgentLogs = z.infer<typeof AgentLogs>;

export const AgentPruneResult = z.object({
  ok: z.literal(true),
  containersReclaimedBytes: z.number(),
  imagesReclaimedBytes: z.number(),
  reclaimedBytes: z.number(),
  adopted,
});
export type AgentPruneResult = z.infer<typeof AgentPruneResult>;

export const AgentCloudInitResult = z.object({ ok: z.literal(true), cloudInit: z.object({ status: z.literal('done') }) });
export type AgentCloudInitResult = z.infer<typeof AgentCloudInitResult>;

/** `cancel`: whether a run was stopped (false: it was not running, had finished, or was already switching). */
export const AgentCancelResult = z.object({ ok: z.literal(true), cancelled: z.boolean() });
export type AgentCancelResult = z.infer<typeof AgentCancelResult>;

export const agentOutputSchemas = {
  version: AgentVersion,
  status: AgentStatus,
  apply: AgentApplyResult,
  upgrade: AgentRecreateResult,
  rollback: AgentRecreateResult,
  restart: AgentOk,
  stop: AgentOk,
  logs: AgentLogs,
  prune: AgentPruneResult,
  'wait-cloud-init': AgentCloudInitResult,
  cancel: AgentCancelResult,
} as const;

export type AgentVerb = keyof typeof agentOutputSchemas;
export type AgentOutput<V extends AgentVerb> = z.infer<(typeof agentOutputSchemas)[V]>;

/** What the agent answered: its verb's result, or a failure (its own, or output that is not the agent's JSON). */
export type AgentOutcome<V extends AgentVerb> = AgentOutput<V> | AgentFailure;

const PROGRESS_LINE = /^progress: (.+)$/;

/**
 * The step a stderr line of the agent announces, if it is a progress line: `progress: TEXT` once per step of a
 * state-changing verb or wait-cloud-init, and `progress: still TEXT (Ns)` every 5 s while a step lasts.
 */
export function parseAgentProgressLine(line: string): string | undefined {
  return PROGRESS_LINE.exec(line)?.[1];
}

function excerpt(text: string): string {
  const flat = text.trim().replace(/\s+/g, ' ');
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

/**
 * Parses the one JSON line a verb prints. Never throws: output that is not the agent's JSON (a missing agent, a
 * shell error) becomes a failure whose error says what was printed.
 */
export function parseAgentOutput<V extends AgentVerb>(verb: V, stdout: string): AgentOutcome<V> {
  const line = stdout.trim().split('\n').filter(Boolean).at(-1) ?? '';
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { ok: false, error: `agent ${verb}: output is not JSON: ${excerpt(stdout) || '(empty)'}` };
  }
  const result = agentOutputSchemas[verb].safeParse(json);
  if (result.success) return result.data as AgentOutput<V>;
  const failure = AgentFailure.safeParse(json);
  if (failure.success) return failure.data;
  const issue = result.error.issues[0];
  return {
    ok: false,
    error: `agent ${verb}: unexpected output (${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}): ${excerpt(line)}`,
  };
}
