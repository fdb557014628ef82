// Limits and defaults the function and the stack share (CONTRACT §1, §2.5): one place for each number.

/** Kustomer's documented cap for one bulk request, for items and for `ids` alike. */
export const KUSTOMER_BULK_LIMIT = 100;

/** The most customers one command may carry (MAX_ITEMS' ceiling and default): one status read covers its requests. */
export const MAX_COMMAND_ITEMS = 10_000;

/** Bulk requests in flight for one command (CONTRACT §5); the stack's kustomerConcurrency takes the same. */
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 16;
