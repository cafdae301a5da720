/** The floor workflow's one activity: takes an input and returns a result like every activity, and does nothing else. */
export function createFloorActivities() {
  return {
    async noop(_input: { readonly index: number }): Promise<{ readonly ran: 1 }> {
      return { ran: 1 };
    },
  };
}

export type FloorActivities = ReturnType<typeof createFloorActivities>;
