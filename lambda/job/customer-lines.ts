// Which line first named each customer, for a job of any size: a customer on a later line fails with
// "the same customer as line N" (CONTRACT §7). Ids are Kustomer ObjectIds, 12 bytes, so they are kept
// as three 32-bit words in an open-addressing table: 32 bytes a customer at most, not a string each.

const EMPTY = 0;

export class CustomerLines {
  private words = new Uint32Array(0);
  /** The line number of each slot; 0 marks an empty slot (lines start at 1). */
  private lines = new Uint32Array(0);
  private size = 0;

  constructor(capacity = 1024) {
    this.allocate(capacity);
  }

  /**
   * The earlier line that named this customer, or undefined, in which case this line is now its first.
   * An id that is not an ObjectId is nobody's: validation refuses it.
   */
  firstLineOf(id: unknown, line: number): number | undefined {
    if (typeof id !== "string" || !/^[0-9a-fA-F]{24}$/.test(id)) return undefined;
    const key = [0, 8, 16].map((start) => Number.parseInt(id.slice(start, start + 8), 16)) as [number, number, number];
    const slot = this.slotOf(key);
    const earlier = this.lines[slot] as number;
    if (earlier !== EMPTY) return earlier;
    this.words.set(key, slot * 3);
    this.lines[slot] = line;
    this.size += 1;
    if (this.size * 2 > this.lines.length) this.grow();
    return undefined;
  }

  private slotOf([a, b, c]: [number, number, number]): number {
    const mask = this.lines.length - 1;
    // MurmurHash3's finalizer: every bit of the id reaches the low bits the mask keeps.
    let hash = Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b), 0xc2b2ae35);
    hash ^= hash >>> 16;
    hash = Math.imul(hash, 0x85ebca6b);
    hash ^= hash >>> 13;
    hash = Math.imul(hash, 0xc2b2ae35);
    hash ^= hash >>> 16;
    let slot = (hash >>> 0) & mask;
    while (this.lines[slot] !== EMPTY) {
      const at = slot * 3;
      if (this.words[at] === a && this.words[at + 1] === b && this.words[at + 2] === c) return slot;
      slot = (slot + 1) & mask;
    }
    return slot;
  }

  private allocate(capacity: number): void {
    this.words = new Uint32Array(capacity * 3);
    this.lines = new Uint32Array(capacity);
  }

  private grow(): void {
    const { words, lines } = this;
    this.allocate(lines.length * 2);
    for (let slot = 0; slot < lines.length; slot += 1) {
      if (lines[slot] === EMPTY) continue;
      const key = [words[slot * 3], words[slot * 3 + 1], words[slot * 3 + 2]] as [number, number, number];
      const target = this.slotOf(key);
      this.words.set(key, target * 3);
      this.lines[target] = lines[slot] as number;
    }
  }
}
