// `npm run job`'s defaults for a person at a terminal, set before Powertools reads them as the job's
// modules are imported: warnings and errors only, and no metric blobs among the progress lines.
process.env.AWS_LAMBDA_INITIALIZATION_TYPE ??= "on-demand";
process.env.POWERTOOLS_LOG_LEVEL ??= "WARN";
process.env.POWERTOOLS_METRICS_DISABLED ??= "true";
