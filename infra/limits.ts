// Limits shared by the stack, its API model and the OpenAPI document.

/** Items per command (the function's MAX_ITEMS); larger jobs belong on the batch path. */
export const MAX_ITEMS = 10_000;
