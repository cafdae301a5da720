import { log } from '@temporalio/workflow';
import type { DesiredState } from '../../shared/deploy';
import type { DeployReport } from './deploy-hold';
import type { Condition, Observation } from '../../shared/heal-policy';
import { EVENT_LIMIT, MESSAGE_LIMIT, RECENT_LIMIT, type CarriedState } from '../../shared/installation-state';
import type {
  HealEvent,
  LifecycleSettings,
  MigrateResult,
  OrphanRecord,
  OperationOutcome,
  OperationRecord,
  QueuedOperation,
  UpgradeResult,
} from '../../shared/lifecycle';


/**
 * What the installation knows; all of it survives continue-as-new, where it is parsed again with
 * installationStateSchema (src/shared/installation-state.ts).
 */
export interface State {
  desired: DesiredState | null;
  observed: Observation | null;
  conditions: Condition[];
  queue: QueuedOperation[];
  /** Newest first. */
  recent: OperationRecord[];
  /** Newest first. */
  healEvents: HealEvent[];
  /** Resources with the installation's tag or name that are not desired (heal's orphan sweep); absent in older runs. */
  orphans?: OrphanRecord[];
  /** Epoch ms of the last orphan sweep (or of the first heal check, which only starts the clock). */
  lastSweepAt?: number;
  repairTimes: number[];
  consecutiveFailures: number;
  backoffUntil: number | null;
  settings: LifecycleSettings;
  runs: number;
  seq: number;
  retiring: boolean;
}

// The carried-state schema must describe exactly this State: tsc fails here when one changes without the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type CarriedStateMatches = Holds<Same<CarriedState, State>>;

export function initialState(settings: LifecycleSettings): State {
  return {
    desired: null,
    observed: null,
    conditions: [],
    queue: [],
    recent: [],
    healEvents: [],
    orphans: [],
    repairTimes: [],
    consecutiveFailures: 0,
    backoffUntil: null,
    settings,
    runs: 0,
    seq: 0,
    retiring: false,
  };
}

/** What a finished (or replaced) operation tells whoever waits on it (an update handler). */
export type Outcome =
  | { readonly kind: 'upgrade'; readonly result: UpgradeResult }
  | { readonly kind: 'migrate'; readonly result: MigrateResult }
  | { readonly kind: 'configure'; readonly result: LifecycleSettings }
  | { readonly kind: 'done' }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'cancelled'; readonly message: string }
  | { readonly kind: 'superseded'; readonly by: string };

/** The running entity: its state and the few helpers every operation file uses. */
export class Installation {
  readonly outcomes = new Map<string, Outcome>();
  current: (QueuedOperation & { startedAt: string; step: string }) | null = null;
  /** Set by the deploy signals while a deploy holds the installation (deploy-hold.ts). */
  deployReport: DeployReport | undefined;
  /** Set by teardown's last step, once the retired installation's resources are gone. */
  tornDown = false;

  constructor(
    readonly id: string,
    readonly state: State,
  ) {}

  takeDeployReport(): DeployReport | undefined {
    const report = this.deployReport;
    this.deployReport = undefined;
    return report;
  }

  now(): string {
    return new Date(Date.now()).toISOString();
  }

  setStep(step: string): void {
    if (this.current) this.current.step = step;
  }

  /** Records what an operation did, newest first, bounded. */
  record(op: Pick<OperationRecord, 'id' | 'kind' | 'requestedAt'>, outcome: OperationOutcome, message: string, startedAt: string | null, details?: Record<string, unknown>): void {
    const { recent } = this.state;
    recent.unshift({ id: op.id, kind: op.kind, outcome, message: bounded(message), requestedAt: op.requestedAt, startedAt, finishedAt: this.now(), ...(details ? { details } : {}) });
    recent.length = Math.min(recent.length, RECENT_LIMIT);
  }

  /** Records a heal decision, newest first, bounded. */
  event(e: Omit<HealEvent, 'at'>): void {
    const { healEvents } = this.state;
    healEvents.unshift({ at: this.now(), ...e, reason: bounded(e.reason) });
    healEvents.length = Math.min(healEvents.length, EVENT_LIMIT);
    log.info('heal decision', { installationId: this.id, action: e.action, decision: e.decision, reason: e.reason });
  }
}

/** A recorded message is cut at MESSAGE_LIMIT, so whatever the entity records, its carried state parses again. */
function bounded(message: string): string {
  return message.length <= MESSAGE_LIMIT ? message : `${message.slice(0, MESSAGE_LIMIT - 1)}…`;
}
