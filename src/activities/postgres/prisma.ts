// What Prisma Migrate (prisma-engines, the schema engine that `prisma migrate deploy` runs; Trigger.dev v4.5.12 pins
// Prisma 6.14.0) does on PostgreSQL, restated from its source so that a chain we apply is recorded exactly as Prisma
// records it and the stock webapp image's `prisma migrate deploy` finds nothing left to do.

/**
 * The advisory lock Prisma Migrate takes before it reads or applies anything
 * (schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs, `acquire_lock`:
 * `SELECT pg_advisory_lock(72707369)`, waited on for at most ADVISORY_LOCK_TIMEOUT = 10 s). Holding it makes a
 * webapp that boots meanwhile wait for us instead of racing.
 */
export const PRISMA_MIGRATE_LOCK_KEY = 72707369;
/** How long Prisma waits for that lock before it fails (postgres.rs, ADVISORY_LOCK_TIMEOUT). */
export const PRISMA_LOCK_WAIT_SECONDS = 10;

export const MIGRATIONS_TABLE = '_prisma_migrations';

/** Prisma's DDL for the table, verbatim (postgres.rs, `create_migrations_table`). */
export const CREATE_MIGRATIONS_TABLE_SQL = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);
`;

/** A value we build SQL from ourselves: uuids, hex checksums and directory names, never free text. */
function literal(value: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new Error(`not a plain identifier value: ${JSON.stringify(value)}`);
  return `'${value}'`;
}

/**
 * A migration starts: id (a v4 uuid), checksum, started_at and migration_name; logs stay NULL and
 * applied_steps_count 0 (sql_migration_persistence.rs, `record_migration_started_impl`; Prisma takes the time on the
 * client, we take the server's `clock_timestamp()` at that statement).
 */
export function recordStartedSql(id: string, name: string, checksum: string): string {
  return `INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) VALUES (${literal(id)}, ${literal(checksum)}, clock_timestamp(), ${literal(name)});`;
}

/**
 * The script succeeded: `record_successful_step` (applied_steps_count + 1; a SQL migration is one step) then
 * `record_migration_finished` (finished_at), in one statement.
 */
export function recordFinishedSql(id: string): string {
  return `UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1, finished_at = clock_timestamp() WHERE id = ${literal(id)};`;
}

/** A migration whose step Prisma recorded as done (record_successful_step) but whose finish it never wrote. */
export function recordFinishedOnlySql(id: string): string {
  return `UPDATE _prisma_migrations SET finished_at = clock_timestamp() WHERE id = ${literal(id)};`;
}

/** `prisma migrate resolve --rolled-back` (mark_migration_rolled_back_by_id): the row stays, the migration is pending again. */
export function recordRolledBackSql(id: string): string {
  return `UPDATE _prisma_migrations SET rolled_back_at = clock_timestamp() WHERE id = ${literal(id)};`;
}

/** The script failed: `record_failed_step` sets logs to the error's text; finished_at stays NULL. */
export const RECORD_FAILED_SQL = 'UPDATE _prisma_migrations SET logs = $2 WHERE id = $1';

/**
 * The text Prisma writes into `logs` for a failed migration: the P3018 user-facing error ApplyMigrationError
 * (libs/user-facing-errors/src/schema_engine.rs), whose database_error is the PostgreSQL error's message
 * (flavour/postgres/connection.rs, `apply_migration_script`).
 */
export function failedMigrationLogs(name: string, code: string, databaseError: string): string {
  return (
    'A migration failed to apply. New migrations cannot be applied before the error is recovered from. Read more about ' +
    'how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve\n\n' +
    `Migration name: ${name}\n\nDatabase error code: ${code}\n\nDatabase error:\n${databaseError}\n`
  );
}

/**
 * Tables Prisma ignores when it decides whether a database without `_prisma_migrations` is empty
 * (`initialize` in sql_migration_persistence.rs refuses a non-empty one with P3005, "The database schema is not
 * empty"); on PostgreSQL only PostGIS's spatial_ref_sys (`table_should_be_ignored`).
 */
export const IGNORED_TABLES = ['spatial_ref_sys'];
