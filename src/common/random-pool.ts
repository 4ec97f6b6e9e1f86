// Random bytes for ids and secrets, drawn from a pooled buffer: one randomFillSync per pool instead
// of a randomBytes call per id, which was measurable when minting and at every upgrade.
import { randomFillSync } from 'node:crypto';

export class RandomPool {
  private readonly pool: Buffer;
  private offset: number;

  constructor(
    private readonly bytesPerDraw: number,
    draws: number,
  ) {
    this.pool = Buffer.alloc(bytesPerDraw * draws);
    this.offset = this.pool.length;
  }

  /** `bytesPerDraw` fresh random bytes, encoded. The bytes are wiped from the pool once handed out. */
  draw(encoding: 'hex' | 'base64url'): string {
    if (this.offset >= this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const end = this.offset + this.bytesPerDraw;
    const value = this.pool.toString(encoding, this.offset, end);
    // The pool never keeps a value that was handed out (ticket secrets are drawn from one).
    this.pool.fill(0, this.offset, end);
    this.offset = end;
    return value;
  }
}
