/**
 * The one redaction point: every secret value the worker resolves is registered here, and every log line and
 * failure message that leaves an activity passes through `redact`.
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
    return out;
  }
}
