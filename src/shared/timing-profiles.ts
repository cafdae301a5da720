/**
 * The sandbox's timing profiles, by name: what `--timings` accepts. Here rather than in sandbox/ so that the CLI can
 * name them without loading the sandbox (which the production image leaves out).
 */
export const TIMING_PROFILES = ['fast', 'default', 'realistic'] as const;
export type TimingProfile = (typeof TIMING_PROFILES)[number];

export function isTimingProfile(value: string): value is TimingProfile {
  return (TIMING_PROFILES as readonly string[]).includes(value);
}

/** Parses a `--timings` value; the error names the flag and the accepted values. */
export function parseTimingProfile(value: string, flag = '--timings'): TimingProfile {
  if (isTimingProfile(value)) return value;
  throw new Error(`${flag} must be one of ${TIMING_PROFILES.join(', ')}; got "${value}"`);
}
