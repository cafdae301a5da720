// How long things take in the sandbox: one table for every stand-in (DigitalOcean, droplets, Docker, the supervisor,
// Railway, the webapp), three profiles, and forcing of single durations for tests. docs/sandbox-timings.md says
// where each realistic figure comes from.

import { isTimingProfile, TIMING_PROFILES, type TimingProfile } from '../src/shared/timing-profiles';

export { isTimingProfile, parseTimingProfile, TIMING_PROFILES, type TimingProfile } from '../src/shared/timing-profiles';

/** Inclusive range in milliseconds; a draw is uniform in it. `[n, n]` is a fixed duration. */
export type DurationRange = readonly [minMs: number, maxMs: number];

interface TimingRow {
  /** What the duration covers, as the docs table says it. */
  readonly what: string;
  readonly fast: DurationRange;
  readonly default: DurationRange;
  readonly realistic: DurationRange;
}

/** Every delay the sandbox spends. `fast` is what tests use; `default` is `npm start`'s; `realistic` the real world's. */
export const TIMING_TABLE = {
  dropletCreate: {
    what: 'POST /v2/droplets until the droplet is `active` (its create action completed)',
    fast: [100, 100],
    default: [2_000, 2_000],
    realistic: [30_000, 60_000],
  },
  dropletBoot: {
    what: 'power on (create, power_on, reboot, power_cycle, rebuild) until sshd answers',
    fast: [50, 50],
    default: [1_000, 1_000],
    realistic: [10_000, 25_000],
  },
  cloudInit: {
    what: 'first boot: sshd answering until cloud-init has run its final stage (packages, runcmd)',
    fast: [50, 50],
    default: [1_500, 1_500],
    realistic: [60_000, 180_000],
  },
  imagePull: {
    what: '`docker pull` / `docker compose pull` of one image not yet on the droplet (a present one is instant)',
    fast: [0, 0],
    default: [0, 0],
    realistic: [20_000, 90_000],
  },
  supervisorConnect: {
    what: 'supervisor container started until it logs "Connected to platform"',
    fast: [0, 0],
    default: [0, 0],
    realistic: [3_000, 10_000],
  },
  dropletAction: {
    what: 'a droplet action (power_on, power_off, shutdown, reboot, power_cycle, rebuild, resize) until `completed`',
    fast: [100, 100],
    default: [1_000, 1_000],
    realistic: [10_000, 30_000],
  },
  railwayRedeploy: {
    what: 'a Railway deployment from QUEUED to SUCCESS (¼ queued, ⅜ building, ⅜ deploying)',
    fast: [80, 80],
    default: [2_300, 2_300],
    realistic: [60_000, 300_000],
  },
  supervisorHeartbeat: {
    what: "interval of the supervisor's heartbeats to the webapp",
    fast: [500, 500],
    default: [5_000, 5_000],
    realistic: [30_000, 30_000],
  },
  webappDequeueWait: {
    what: 'how long the webapp holds an empty dequeue long-poll',
    fast: [200, 200],
    default: [1_000, 1_000],
    realistic: [1_000, 1_000],
  },
} as const satisfies Record<string, TimingRow>;

export type TimingName = keyof typeof TIMING_TABLE;
export const TIMING_NAMES = Object.keys(TIMING_TABLE) as TimingName[];

/**
 * TRIGGER_OPS_POLL_INTERVAL_MS of the env the sandbox hands out. Realistic: what real clients use (doctl polls an
 * action every 5 s), and at most 20 requests a minute per waiting activity, well inside DigitalOcean's 250/min.
 */
export const POLL_INTERVAL_MS: Readonly<Record<TimingProfile, number>> = { fast: 250, default: 1_000, realistic: 3_000 };

/** A duration an option can take: a fixed number, or a function asked each time the delay starts. */
export type Delay = number | (() => number);

export function delayMs(delay: Delay): number {
  return typeof delay === 'function' ? delay() : delay;
}

export interface TimingsSpec {
  readonly profile?: TimingProfile;
  /** Durations forced for the sandbox's lifetime, e.g. `{ imagePull: 90_000 }`. */
  readonly force?: Partial<Record<TimingName, number>>;
  /** Seed of the draws, for a reproducible run; random by default. */
  readonly seed?: number;
}

export type TimingsOption = TimingProfile | TimingsSpec;

export interface ForceOptions {
  /** Only the next `times` draws are forced (e.g. 1: exactly one pull); for every later draw by default. */
  readonly times?: number;
}

/** The timings of one running sandbox. Every stand-in asks `draw` when one of its delays starts. */
export interface SandboxTimings {
  readonly profile: TimingProfile;
  readonly pollIntervalMs: number;
  /** One duration: the forced value if there is one, else a uniform draw from the profile's range. */
  draw(name: TimingName): number;
  /** The range `draw` currently uses (a forced value is a range of one). */
  range(name: TimingName): DurationRange;
  /** Forces a duration (ms) from now on, or for the next `times` draws; returns a function that undoes it. */
  force(name: TimingName, ms: number, options?: ForceOptions): () => void;
  /** Back to the profile's range for `name`, or for every duration. */
  release(name?: TimingName): void;
  /** The durations drawn so far (the last 10,000 at least), in order, with when (epoch ms): what a run waited for. */
  drawn(): readonly { readonly name: TimingName; readonly ms: number; readonly at: number }[];
}

function checkMs(name: string, ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new Error(`a forced ${name} duration must be a number of milliseconds ≥ 0, got ${ms}`);
  return ms;
}

function checkName(name: string): TimingName {
  if (!(name in TIMING_TABLE)) throw new Error(`unknown sandbox timing "${name}"; known: ${TIMING_NAMES.join(', ')}`);
  return name as TimingName;
}

/** mulberry32: small, fast and good enough to jitter durations (and pick chaos moments) reproducibly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Forced {
  readonly ms: number;
  remaining: number;
}

export function createTimings(option: TimingsOption): SandboxTimings {
  const spec: TimingsSpec = typeof option === 'string' ? { profile: option } : option;
  const profile = spec.profile ?? 'default';
  if (!isTimingProfile(profile)) throw new Error(`timings profile must be one of ${TIMING_PROFILES.join(', ')}; got "${String(profile)}"`);
  const random = spec.seed === undefined ? Math.random : seededRandom(spec.seed);
  const forced = new Map<TimingName, Forced>();
  const log: { name: TimingName; ms: number; at: number }[] = [];
  // A sandbox left running (npm start) draws a dequeue wait a second per supervisor: the log keeps the recent ones.
  const record = (name: TimingName, ms: number) => {
    if (log.length >= 20_000) log.splice(0, 10_000);
    log.push({ name, ms, at: Date.now() });
    return ms;
  };

  const force = (name: TimingName, ms: number, options: ForceOptions = {}): (() => void) => {
    const entry: Forced = { ms: checkMs(checkName(name), ms), remaining: options.times ?? Infinity };
    forced.set(name, entry);
    return () => {
      if (forced.get(name) === entry) forced.delete(name);
    };
  };
  for (const [name, ms] of Object.entries(spec.force ?? {})) force(checkName(name), ms);

  return {
    profile,
    pollIntervalMs: POLL_INTERVAL_MS[profile],
    draw(name) {
      const f = forced.get(name);
      if (f) {
        if (--f.remaining <= 0) forced.delete(name);
        return record(name, f.ms);
      }
      const [min, max] = TIMING_TABLE[name][profile];
      return record(name, min === max ? min : Math.round(min + random() * (max - min)));
    },
    drawn: () => [...log],
    range(name) {
      const f = forced.get(name);
      return f ? [f.ms, f.ms] : TIMING_TABLE[name][profile];
    },
    force,
    release(name) {
      if (name === undefined) forced.clear();
      else forced.delete(name);
    },
  };
}

/** Sleeps a stand-in can cut short: closing it must not leave a three-minute timer behind. */
export class Sleeps {
  readonly #pending = new Set<{ readonly timer: NodeJS.Timeout; readonly resolve: () => void }>();

  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          this.#pending.delete(entry);
          resolve();
        }, ms),
      };
      this.#pending.add(entry);
    });
  }

  /** Resolves every pending sleep now; callers check whether what they waited for still holds. */
  cutShort(): void {
    for (const entry of this.#pending) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    this.#pending.clear();
  }
}
