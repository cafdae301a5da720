export { controllerCheck } from './controller-check';
export { deploy, deployProgressQuery, type DeployProgress } from './deploy';
export { teardown, teardownProgressQuery, teardownInputSchema, type TeardownInput, type TeardownResult } from './teardown';
export { installation } from './installation';
export { heal } from './heal';
export { migrate, migrateProgressQuery } from './migrate';
export { deployPlan } from './plan';
export { logs, logsInputSchema, type LogsInput, type LogsResult } from './logs';
export { databaseMigrate } from './database-migrate';
