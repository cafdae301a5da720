/** Secret formats redacted wherever they appear, even when the worker never saw the value (e.g. in a webapp log). */
const SECRET_PATTERNS: readonly RegExp[] = [
  /\btr_wgt_[0-9A-Za-z]{8,}/g, // Trigger.dev worker group token
  /\btr_pat_[0-9A-Za-z]{8,}/g, // Trigger.dev personal access token
  /\bdop_v1_[0-9a-f]{16,}/g, // DigitalOcean personal access token
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /(?<=[?&](?:token|code)=)[^\s&#"'<>)\]]{8,}/g, // a magic link's or an invitation's token
  /\bre_[A-Za-z0-9_]{8,}/g, // Resend API key
  /\bsealed:v1:[A-Za-z0-9_-]{38,}/g, // a sealed credential: opaque, but nobody needs to see it
];

/**
 * The one redaction point: every secret value the worker resolves is registered here, and every log line and
 * failure message that leaves an activity passes through `redact`, which also masks well-known secret formats.
 */
export class Redactor {
  readonly #values = new Set<string>();

  /** Remembers a secret value (values shorter than 6 characters would redact ordinary words, so they are skipped). */
  add(value: string | undefined): void {
    if (value && value.length >= 6) this.#values.add(value);
  }

  redact(text: string): string {
    let out = text;
    for (const value of this.#values) {
      if (out.includes(value)) out = out.split(value).join('[redacted]');
    }
    for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, '[redacted]');
    return out;
  }
}
