// Where the time of an operation goes: each adapter (DigitalOcean, Railway, SSH, webapp client) passes its external
// calls through `meterExternalCall` in the one function that talks to the outside. Nothing is measured until someone
// starts a meter (the bench, scripts/bench-lifecycle.ts, running the worker in its own process); until then the hook is
// one `undefined` check.

export const EXTERNAL_SYSTEMS = ['digitalocean', 'railway', 'ssh', 'webapp'] as const;
export type ExternalSystem = (typeof EXTERNAL_SYSTEMS)[number];

export interface CallMeterReading {
  /** Calls per system: requests for the HTTP APIs, sessions (connections) for SSH. */
  readonly calls: Record<ExternalSystem, number>;
  /** Time inside each system's calls, summed per system (concurrent calls of one system add up). */
  readonly ms: Record<ExternalSystem, number>;
  /** Wall time during which at least one external call was in flight: never more than the elapsed time. */
  readonly busyMs: number;
}

export interface CallMeter {
  /** What was recorded since the meter started or was last reset; a call still in flight counts only in `busyMs`. */
  read(): CallMeterReading;
  reset(): void;
  stop(): void;
}

interface Recorder {
  begin(): void;
  end(system: ExternalSystem, ms: number, counted: boolean): void;
}

let recorder: Recorder | undefined;

/**
 * Runs one external call, timed when a meter is running. `counted: false` is for the commands inside an SSH session:
 * their time is the session's, the session was counted when it connected.
 */
export async function meterExternalCall<T>(system: ExternalSystem, run: () => Promise<T>, options: { readonly counted?: boolean } = {}): Promise<T> {
  const r = recorder;
  if (!r) return run();
  const startedAt = performance.now();
  r.begin();
  try {
    return await run();
  } finally {
    r.end(system, performance.now() - startedAt, options.counted ?? true);
  }
}

const zeros = (): Record<ExternalSystem, number> => ({ digitalocean: 0, railway: 0, ssh: 0, webapp: 0 });

/** Starts the process's one meter (a second start is a programming error: two readers would reset each other). */
export function startCallMeter(): CallMeter {
  if (recorder) throw new Error('a call meter is already running in this process');
  let calls = zeros();
  let ms = zeros();
  let busyMs = 0;
  let inFlight = 0;
  let busySince = 0;
  const own: Recorder = {
    begin() {
      if (inFlight++ === 0) busySince = performance.now();
    },
    end(system, took, counted) {
      if (counted) calls[system] += 1;
      ms[system] += took;
      if (--inFlight === 0) busyMs += performance.now() - busySince;
    },
  };
  recorder = own;
  return {
    read() {
      const open = inFlight > 0 ? performance.now() - busySince : 0;
      return { calls: { ...calls }, ms: { ...ms }, busyMs: busyMs + open };
    },
    reset() {
      calls = zeros();
      ms = zeros();
      busyMs = 0;
      if (inFlight > 0) busySince = performance.now();
    },
    stop() {
      if (recorder === own) recorder = undefined;
    },
  };
}
