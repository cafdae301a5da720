import { createControllerActivities, type ControllerDeps } from './controller';

export type ActivityDeps = ControllerDeps;

/** Every activity the worker registers, built from injected dependencies (one factory per external system). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createControllerActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
