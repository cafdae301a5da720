import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { EmailState } from '../shared/email';
import { workflowIds } from '../shared/ids';
import { emailShow } from '../workflows';

/** What a status view shows about email: the webapp's settings (secrets masked), or why they could not be read. */
export type EmailStatus = (EmailState & { readonly service: string }) | { readonly error: string };

/**
 * The webapp's email state for `trigger-ops status` and the controller's status page: read from Railway through the
 * emailShow workflow (read-only). Never throws; `formatEmailState` (src/shared/email.ts) turns it into one line.
 */
export async function emailStatus(
  client: Client,
  config: Config,
  installationId: string,
  railway: { projectId?: string; environmentId?: string } = {},
): Promise<EmailStatus> {
  try {
    return await client.workflow.execute(emailShow, {
      taskQueue: config.temporal.taskQueue,
      workflowId: workflowIds.emailShow(installationId),
      workflowIdConflictPolicy: 'TERMINATE_EXISTING',
      workflowExecutionTimeout: '30 seconds',
      args: [{ installationId, railway }],
    });
  } catch (err) {
    let message = err instanceof Error ? err.message : String(err);
    for (let c: unknown = err instanceof Error ? err.cause : undefined; c instanceof Error; c = c.cause) message = c.message || message;
    return { error: message };
  }
}
