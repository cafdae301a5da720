/** One fixed window of a Railway rate limit, e.g. 1,000 requests per hour (Hobby) or 10 per second. */
export interface RateLimitWindow {
  readonly limit: number;
  readonly windowMs: number;
}

/** Railway Pro: 10,000 requests per hour and 50 per second (reference §3). */
export const DEFAULT_RATE_LIMITS: readonly RateLimitWindow[] = [
  { limit: 10_000, windowMs: 3_600_000 },
  { limit: 50, windowMs: 1_000 },
];

export interface RateLimitVerdict {
  readonly allowed: boolean;
  /** X-RateLimit-* and, when refused, Retry-After. */
  readonly headers: Record<string, string>;
}

/** Per-token fixed-window counters; the window closest to its limit is the one reported in the headers. */
export function createRateLimiter(windows: readonly RateLimitWindow[], now: () => number = Date.now) {
  const counters = new Map<string, { start: number; count: number }[]>();
  return {
    hit(key: string): RateLimitVerdict {
      const t = now();
      const state = counters.get(key) ?? windows.map(() => ({ start: t, count: 0 }));
      counters.set(key, state);
      let tightest: { limit: number; remaining: number; resetMs: number } | undefined;
      let refused: { resetMs: number } | undefined;
      windows.forEach((w, i) => {
        const c = state[i];
        if (!c) return;
        if (t - c.start >= w.windowMs) {
          c.start = t;
          c.count = 0;
        }
        const resetMs = c.start + w.windowMs;
        if (c.count >= w.limit) {
          if (!refused || resetMs > refused.resetMs) refused = { resetMs };
        }
        const remaining = Math.max(0, w.limit - c.count - 1);
        if (!tightest || remaining < tightest.remaining) tightest = { limit: w.limit, remaining, resetMs };
      });
      if (!refused) state.forEach((c) => (c.count += 1));
      const headers: Record<string, string> = {};
      if (tightest) {
        headers['x-ratelimit-limit'] = String(tightest.limit);
        headers['x-ratelimit-remaining'] = String(refused ? 0 : tightest.remaining);
        headers['x-ratelimit-reset'] = String(Math.ceil((refused?.resetMs ?? tightest.resetMs) / 1000));
      }
      if (refused) headers['retry-after'] = String(Math.max(1, Math.ceil((refused.resetMs - t) / 1000)));
      return { allowed: !refused, headers };
    },
    reset(): void {
      counters.clear();
    },
  };
}
