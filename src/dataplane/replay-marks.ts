/**
 * Replay high-water marks that outlive a worker thread (docs/security.md "Replay windows", restarts): each
 * replay window's highest accepted counter, in a SharedArrayBuffer the worker host holds. When the
 * supervisor replaces a dead worker it reads them and hands them to the new thread as floors: a window
 * of the same (path, key, sender) starts there, and every counter at or below it is refused as seen or
 * too old. Without them the new thread's windows start empty and accept, once, any packet captured
 * before the restart under a key still in use.
 *
 * Layout: one slot of SLOT_WORDS u32 per replay window index (the window pool's index): state, path,
 * key hash (of the key's fingerprint: its id and bytes), sender, top counter (hi, lo). The worker writes
 * a slot's description when the window is made (between batches or on a key's first packet from a
 * sender) and its top when the top moves (two u32 stores per accepted packet). Windows beyond the
 * buffer's slots are not marked (their floor is lost on a restart).
 */

const SLOT_WORDS = 6;
const STATE = 0, PATH = 1, KEY = 2, SENDER = 3, TOP_HI = 4, TOP_LO = 5;
const FREE = 0, NO_TOP = 1, HAS_TOP = 2;

/** The highest counter a dead worker accepted from `sender` under a key of a path. */
export interface ReplayFloor {
  path: number;
  /** hash of the key's fingerprint (keyHash) */
  key: number;
  sender: number;
  hi: number;
  lo: number;
}

/** A shared buffer for `windows` replay windows' marks. */
export function createReplayMarks(windows: number): SharedArrayBuffer {
  return new SharedArrayBuffer(windows * SLOT_WORDS * 4);
}

/** FNV-1a of a key's fingerprint: which key a mark belongs to, without the key itself. */
export function keyHash(fingerprint: string): number {
  let h = 2166136261;
  for (let i = 0; i < fingerprint.length; i++) h = Math.imul(h ^ fingerprint.charCodeAt(i), 16777619);
  return h >>> 0;
}

const above = (a: ReplayFloor, hi: number, lo: number): boolean => a.hi > hi || (a.hi === hi && a.lo > lo);

export class ReplayMarks {
  /** the slots (u32 words); written by one worker, read by the host after it ended */
  readonly words: Uint32Array;
  /** windows with a slot */
  readonly slots: number;

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Uint32Array(buffer);
    this.slots = Math.floor(this.words.length / SLOT_WORDS);
  }

  /** Window w now belongs to (path, key, sender); its top is the floor's when it starts from one. */
  describe(w: number, path: number, key: number, sender: number, floor?: ReplayFloor): void {
    if (w >= this.slots) return;
    const b = w * SLOT_WORDS;
    const m = this.words;
    m[PATH + b] = path;
    m[KEY + b] = key;
    m[SENDER + b] = sender;
    if (floor !== undefined) {
      m[TOP_HI + b] = floor.hi;
      m[TOP_LO + b] = floor.lo;
    }
    m[STATE + b] = floor !== undefined ? HAS_TOP : NO_TOP;
  }

  /** Window w's top moved to (hi, lo) (per accepted packet that raises it). */
  top(w: number, hi: number, lo: number): void {
    if (w >= this.slots) return;
    const b = w * SLOT_WORDS;
    const m = this.words;
    m[TOP_HI + b] = hi;
    m[TOP_LO + b] = lo;
    m[STATE + b] = HAS_TOP;
  }

  /** Window w was released. */
  clear(w: number): void {
    if (w < this.slots) this.words[w * SLOT_WORDS + STATE] = FREE;
  }

  /** Every window's top (the host, once the worker has ended). */
  floors(): ReplayFloor[] {
    const out: ReplayFloor[] = [];
    const m = this.words;
    for (let b = 0; b < this.slots * SLOT_WORDS; b += SLOT_WORDS) {
      if (m[STATE + b] !== HAS_TOP) continue;
      out.push({ path: m[PATH + b]!, key: m[KEY + b]!, sender: m[SENDER + b]!, hi: m[TOP_HI + b]!, lo: m[TOP_LO + b]! });
    }
    return out;
  }
}

/** The highest floor per (path, key, sender) of several lists (a worker that died again before it used its floors). */
export function mergeFloors(...lists: ReplayFloor[][]): ReplayFloor[] {
  const best = new Map<string, ReplayFloor>();
  for (const f of lists.flat()) {
    const id = `${f.path}/${f.key}/${f.sender}`;
    const have = best.get(id);
    if (have === undefined || above(f, have.hi, have.lo)) best.set(id, f);
  }
  return [...best.values()];
}
