import { z } from 'zod';
import { installationIdSchema } from './ids';

/** A Trigger.dev release whose webapp migration chain trigger-ops may ship (vendor/trigger/<version>/migrations). */
export const releaseVersionSchema = z.string().regex(/^v\d+\.\d+\.\d+$/, { message: 'must be a release tag such as "v4.5.12"' });

/** `trigger-ops db migrate [--plan]`, workflow `databaseMigrate`, id `db-migrate:<installationId>`. */
export const databaseMigrateInputSchema = z
  .object({
    installationId: installationIdSchema,
    /** The chain to apply; default: the version of the image the webapp runs. */
    version: releaseVersionSchema.optional(),
    /** Only report what would be applied; change nothing. */
    plan: z.boolean().default(false),
    railway: z.object({ projectId: z.string().min(1).optional(), environmentId: z.string().min(1).optional() }).strict().default({}),
  })
  .strict();

export type DatabaseMigrateInput = z.input<typeof databaseMigrateInputSchema>;

/**
 * Which database: the installation's Railway project and environment, never a URL. The activity reads the Postgres
 * service's URL from Railway at the point of use, so the password never enters workflow history.
 */
export interface DatabaseRef {
  readonly projectId: string;
  readonly environmentId: string;
  readonly version?: string | undefined;
}

/** How the controller reached Postgres: the private network (DATABASE_URL) or Railway's TCP proxy (DATABASE_PUBLIC_URL). */
export type DatabaseRoute = 'private' | 'public';

export interface DatabasePlan {
  readonly version: string;
  readonly postgresService: string;
  readonly route: DatabaseRoute;
  readonly table: 'absent' | 'present';
  readonly chainCount: number;
  readonly appliedCount: number;
  readonly pendingCount: number;
  /** The first pending migrations, in order (at most 20). */
  readonly pending: readonly string[];
  readonly unknown: readonly string[];
  readonly failed: readonly string[];
  /** Left unfinished by a Prisma run that was cut off; resumed by applying (see the README). */
  readonly interrupted: readonly string[];
  readonly modified: readonly string[];
  readonly foreignTables: readonly string[];
  /** Why applying would be refused; undefined when it may proceed. */
  readonly refusal: string | undefined;
}

export interface DatabaseApplied {
  readonly version: string;
  readonly postgresService: string;
  readonly route: DatabaseRoute;
  readonly applied: number;
  readonly alreadyApplied: number;
  readonly resumed: readonly string[];
  readonly firstApplied: string | null;
  readonly lastApplied: string | null;
  readonly roundTrips: number;
  readonly durationMs: number;
}

export type DatabaseMigrateResult = { readonly kind: 'plan'; readonly plan: DatabasePlan } | { readonly kind: 'applied'; readonly applied: DatabaseApplied };
