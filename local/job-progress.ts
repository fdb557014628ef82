// `npm run job`'s progress: one line on stderr, a bar and the lines done, redrawn in place on a
// terminal and printed at most once a second otherwise.

export interface JobProgress {
  /** Non-blank lines in the file. */
  lines: number;
  /** Lines in requests Kustomer accepted. */
  sent: number;
  /** Lines whose state is final: applied, failed, in doubt or unsent. */
  done: number;
  elapsedMs: number;
  /** Kustomer's rate limit is holding the run back until this time (epoch ms), if it is. */
  waitingUntil?: number;
}

/** One line: the bar and the percentage both measure the lines whose state is final. */
export function progressLine({ lines: total, sent, done, elapsedMs, waitingUntil }: JobProgress): string {
  const share = total ? Math.min(1, done / total) : 0;
  const rate = done / Math.max(elapsedMs / 1000, 0.001);
  // The bar draws the percentage it shows, so the two never disagree.
  const percent = Math.floor(share * 100);
  const bar = "#".repeat(Math.round((percent * 30) / 100)).padEnd(30, ".");
  const waiting =
    waitingUntil && waitingUntil > Date.now()
      ? `, waiting ${Math.ceil((waitingUntil - Date.now()) / 1000)} s for Kustomer's rate limit`
      : "";
  return `[${bar}] ${String(percent).padStart(3)}% ${done} of ${total} lines done, ${sent} sent, ${Math.round(rate)}/s${waiting}`;
}

/**
 * Keeps the progress on one line of a terminal: it is redrawn in place, and anything else written
 * (the function's warnings) first clears it and is followed by a fresh copy, so nothing pushes it off.
 */
export function progressDisplay() {
  const tty = Boolean(process.stderr.isTTY);
  // Straight to the terminal, past the wrappers below.
  const stderrWrite = (text: string) => Object.getPrototypeOf(process.stderr).write.call(process.stderr, text);
  const clear = "\r\x1b[2K";
  let shown = "";
  let lastDrawn = 0;
  if (tty) {
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (!shown) return write(chunk, ...rest);
        const written = write(`${clear}${String(chunk)}`, ...rest);
        stderrWrite(shown);
        return written;
      }) as typeof stream.write;
    }
  }
  return {
    update(progress: JobProgress, force = false) {
      // A plain line each second at most when not a terminal (CI, a pipe); redrawn twice a second on one.
      if (!force && Date.now() - lastDrawn < (tty ? 500 : 1_000)) return;
      lastDrawn = Date.now();
      shown = progressLine(progress);
      stderrWrite(tty ? `${clear}${shown}` : `${shown}\n`);
    },
    finish(progress: JobProgress) {
      this.update(progress, true);
      shown = "";
      if (tty) stderrWrite("\n");
    },
  };
}
