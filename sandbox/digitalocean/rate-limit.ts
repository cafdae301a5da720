export interface RateLimitOptions {
  /** Burst limit; exceeding it gives 429 with retry-after. DigitalOcean: 250. */
  readonly perMinute?: number;
  /** Hourly limit, reported in ratelimit-limit. DigitalOcean: 5,000. */
  readonly perHour?: number;
}

export interface RateLimitVerdict {
  readonly allowed: boolean;
  readonly headers: Record<string, string>;
  /** Set when the burst limit was hit. */
  readonly retryAfterSeconds: number | undefined;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;

/**
 * DigitalOcean's per-token limits: every request has its own one-hour (and one-minute) timer, so the windows
 * slide. Rejected requests do not count.
 */
export class RateLimiter {
  private readonly perMinute: number;
  private readonly perHour: number;
  private readonly requests = new Map<string, number[]>();

  constructor(options: RateLimitOptions = {}, private readonly now: () => number = Date.now) {
    this.perMinute = options.perMinute ?? 250;
    this.perHour = options.perHour ?? 5000;
  }

  take(token: string): RateLimitVerdict {
    const now = this.now();
    const times = (this.requests.get(token) ?? []).filter((t) => t > now - HOUR);
    const lastMinute = times.filter((t) => t > now - MINUTE);
    let allowed = true;
    let retryAfterSeconds: number | undefined;
    if (lastMinute.length >= this.perMinute) {
      allowed = false;
      retryAfterSeconds = Math.max(1, Math.ceil(((lastMinute[0] ?? now) + MINUTE - now) / 1000));
    } else if (times.length >= this.perHour) {
      allowed = false;
    } else {
      times.push(now);
    }
    this.requests.set(token, times);
    const oldest = times[0] ?? now;
    return {
      allowed,
      retryAfterSeconds,
      headers: {
        'ratelimit-limit': String(this.perHour),
        'ratelimit-remaining': String(Math.max(0, this.perHour - times.length)),
        'ratelimit-reset': String(Math.ceil((oldest + HOUR) / 1000)),
      },
    };
  }
}
