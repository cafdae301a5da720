export { parseBootstrapBanner } from './bootstrap-banner';
export type { BootstrapToken } from './bootstrap-banner';
export { errorTypeForStatus, toWebappFailure, WebappApiError } from './errors';
export { createWebappClient, PROBE_INSTANCE_NAME } from './webapp-client';
export type { CreateWorkerGroupResult, WebappClient, WebappClientOptions, WorkerGroupSummary } from './webapp-client';
export { isConsoleFallbackFor, parsePrintedEmails } from './email-log';
export type { LogEntry, PrintedEmail } from './email-log';
