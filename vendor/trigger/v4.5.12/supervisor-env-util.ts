// Local stand-ins for the helpers supervisor-env.ts imports from the supervisor's ./envUtil.js (Trigger.dev v4.5.12),
// written for trigger-ops from their documented behaviour (see SOURCE.md). BoolEnv and AdditionalEnvVars behave as
// upstream's do, since trigger-ops writes variables they parse. The Kubernetes helpers check the same formats
// (label values, `key[=value]:effect` tolerations, per-org placement JSON) so a bad value still fails, but their
// messages are shorter: trigger-ops runs the supervisor in Docker mode and never sets a KUBERNETES_* variable.
import { z } from "zod/v3";

/** "true" or "1", any case, surrounding spaces ignored, is true; every other string is false. */
export const BoolEnv = z.preprocess(
  (val) => (typeof val === "string" ? ["true", "1"].includes(val.toLowerCase().trim()) : val),
  z.boolean()
);

/** `K=V,K2=V2` → a record; pairs without both halves are skipped; empty or no pair at all → undefined. */
export const AdditionalEnvVars = z.preprocess((val) => {
  if (typeof val !== "string" || !val) return typeof val === "string" ? undefined : val;
  const pairs: Record<string, string> = {};
  for (const pair of val.split(",")) {
    const [key, value] = pair.split("=");
    if (key && value) pairs[key.trim()] = value.trim();
  }
  return Object.keys(pairs).length === 0 ? undefined : pairs;
}, z.record(z.string(), z.string()).optional());

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const isLabelValue = (v: string) => v.length <= 63 && LABEL_VALUE.test(v);
const isQualifiedName = (key: string) => {
  const slash = key.indexOf("/");
  const name = slash === -1 ? key : key.slice(slash + 1);
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix));
  return prefixOk && name.length <= 63 && NAME.test(name);
};

/** A Kubernetes label value (empty allowed), trimmed. */
export const NodeLabelValue = z
  .string()
  .trim()
  .refine(isLabelValue, { message: "Must be a Kubernetes label value (at most 63 characters)" });

const EFFECTS = ["NoSchedule", "NoExecute", "PreferNoSchedule"];

/** Comma-separated `key=value:effect` (Equal) or `key:effect` (Exists) tolerations. */
export const Tolerations = z.string().transform((val, ctx) =>
  val
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const colon = entry.lastIndexOf(":");
      const effect = colon === -1 ? "" : entry.slice(colon + 1).trim();
      const keyValue = colon === -1 ? entry : entry.slice(0, colon);
      const eq = keyValue.indexOf("=");
      const key = (eq === -1 ? keyValue : keyValue.slice(0, eq)).trim();
      const value = eq === -1 ? undefined : keyValue.slice(eq + 1).trim();
      if (!EFFECTS.includes(effect) || !isQualifiedName(key) || (value !== undefined && !isLabelValue(value))) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `Invalid toleration "${entry}"` });
        return z.NEVER;
      }
      return value === undefined
        ? { key, operator: "Exists" as const, effect }
        : { key, operator: "Equal" as const, value, effect };
    })
);

const NodeSelector = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .transform((selector, ctx) => {
    const result: Record<string, string> = {};
    for (const [rawKey, rawValue] of Object.entries(selector)) {
      const key = rawKey.trim();
      const value = String(rawValue).trim();
      if (!isQualifiedName(key) || !value || !isLabelValue(value)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `Invalid node selector "${rawKey}"` });
        continue;
      }
      result[key] = value;
    }
    return result;
  });

/** JSON `{"<orgId>": {"nodeSelector": {...}, "tolerations": "<csv>" | ["<csv>", ...]}}`; blank means none. */
export const OrgPlacementOverrides = z
  .string()
  .optional()
  .transform((val, ctx) => {
    if (val === undefined || val.trim() === "") return undefined;
    try {
      return JSON.parse(val) as unknown;
    } catch {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: "Invalid org placement overrides: not valid JSON" });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .record(
        z
          .string()
          .min(1)
          .refine((key) => key === key.trim(), { message: "Org override keys must not be padded with whitespace" }),
        z
          .object({
            nodeSelector: NodeSelector.optional(),
            tolerations: z
              .union([z.string(), z.array(z.string())])
              .transform((val) => (Array.isArray(val) ? val.join(",") : val))
              .pipe(Tolerations)
              .optional(),
          })
          .strict()
      )
      .optional()
  );
