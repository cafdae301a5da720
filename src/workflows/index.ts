export { controllerCheck } from './controller-check';
export { deploy, deployProgressQuery, type DeployProgress } from './deploy';
export { teardown, teardownProgressQuery, teardownInputSchema, type TeardownInput, type TeardownResult } from './teardown';
