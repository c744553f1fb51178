/**
 * Longest-path-first ordering of ready nodes (the list schedule HLFET): a node's priority is its own
 * estimated seconds plus the longest chain of estimated seconds that waits on it. With `--jobs`
 * lanes and more ready nodes than lanes, starting the node with the longest chain after it keeps a
 * lone chain (f_A -> D_R -> its trainings -> their evaluations) from queueing behind dozens of short
 * independent nodes that became ready first. The plan's wall-time figure assumes this order.
 */

export interface WorkItem {
  readonly seconds: number;
  /** Ids this item waits for; ids outside the map count as done. */
  readonly deps: readonly string[];
}

/** For every item, its seconds plus the longest path of seconds among the items after it. */
export function pathLengths(work: ReadonlyMap<string, WorkItem>): Map<string, number> {
  const after = new Map<string, string[]>();
  for (const [id, w] of work) {
    for (const d of new Set(w.deps)) {
      if (!work.has(d)) continue;
      const list = after.get(d);
      if (list) list.push(id);
      else after.set(d, [id]);
    }
  }
  // Iterative post-order (deep graphs must not overflow the stack).
  const level = new Map<string, number>();
  for (const root of work.keys()) {
    if (level.has(root)) continue;
    const stack: Array<{ id: string; next: number }> = [{ id: root, next: 0 }];
    const onStack = new Set([root]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const succ = after.get(top.id) ?? [];
      if (top.next < succ.length) {
        const s = succ[top.next++]!;
        if (!level.has(s) && !onStack.has(s)) {
          stack.push({ id: s, next: 0 });
          onStack.add(s);
        }
        continue;
      }
      let longest = 0;
      for (const s of succ) longest = Math.max(longest, level.get(s) ?? 0);
      level.set(top.id, work.get(top.id)!.seconds + longest);
      stack.pop();
      onStack.delete(top.id);
    }
  }
  return level;
}

/**
 * Every item reachable from `ids` through its deps (`item` says what an id costs and waits for;
 * undefined leaves it out), with its own seconds and its priority (pathLengths).
 */
export function priorities(ids: readonly string[], item: (id: string) => WorkItem | undefined): Map<string, { priority: number; seconds: number }> {
  const work = new Map<string, WorkItem>();
  const queue = [...ids];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    if (work.has(next)) continue;
    const w = item(next);
    if (w === undefined) continue;
    work.set(next, w);
    queue.push(...w.deps);
  }
  const lengths = pathLengths(work);
  return new Map([...work].map(([k, w]) => [k, { priority: lengths.get(k) ?? 0, seconds: w.seconds }]));
}

/** What a node asks a slot with: its priority and, for locality, its cost and what it reads. */
export interface SlotRequest {
  readonly priority: number;
  /** Its own estimated seconds. */
  readonly seconds?: number;
  /** Digests of the artifacts it reads. */
  readonly reads?: readonly string[];
}

/**
 * Releases a slot. `touched`: the digests the releasing node read and wrote, so the slot goes to a
 * waiter that reads some of them if that costs the run nothing (see PrioritySemaphore).
 */
export type SlotRelease = (touched?: readonly string[]) => void;

/**
 * A node whose chain after it is estimated at most this share of its own seconds is a leaf: an
 * evaluation followed only by its table (2 s after 5 to 30 s), unlike a training whose evaluations
 * follow it (30 s after 45 s).
 */
const LEAF_TAIL = 0.5;

interface Waiter {
  readonly priority: number;
  readonly seconds: number;
  readonly reads: readonly string[];
  readonly seq: number;
  readonly wake: () => void;
}

/**
 * A counting semaphore whose waiters are served highest priority first, in arrival order among
 * equals (so without priorities it is the plain first-come semaphore).
 *
 * Locality: a worker keeps things from one node to the next (a loaded model, the labels of an
 * earlier attack on it), so a slot freed by a node goes instead to the waiter that reads most of
 * what that node read or wrote, and least of what the nodes holding the other slots read (two
 * evaluations of one model on two workers would each load it and share nothing). An artifact
 * counts the less the more nodes read it: a test set every evaluation reads says nothing about
 * which worker should run which. Locality overrides priority only among leaves (nodes nothing
 * substantial waits for), and only when the detour cannot lengthen the run: the most urgent leaf,
 * delayed by the detour, still ends no later than the queued work per slot, or than the detour
 * would if it waited for that leaf instead.
 */
export class PrioritySemaphore {
  private readonly waiters: Waiter[] = [];
  /** What the nodes holding slots read (requests that waited or found a free slot alike). */
  private readonly holding = new Map<object, readonly string[]>();
  private seq = 0;
  private readonly slots: number;

  constructor(private free: number) {
    this.slots = free;
  }

  async acquire(request: number | SlotRequest = 0): Promise<SlotRelease> {
    const r = typeof request === 'number' ? { priority: request } : request;
    const reads = r.reads ?? [];
    if (this.free > 0) this.free--;
    else await new Promise<void>((wake) => this.waiters.push({ priority: r.priority, seconds: r.seconds ?? 0, reads, seq: this.seq++, wake }));
    const token = {};
    this.holding.set(token, reads);
    let released = false;
    return (touched) => {
      if (released) return;
      released = true;
      this.holding.delete(token);
      const next = this.choose(touched ?? []);
      if (next < 0) this.free++;
      else this.waiters.splice(next, 1)[0]!.wake();
    };
  }

  private choose(touched: readonly string[]): number {
    const before = (a: Waiter, b: Waiter | undefined) => b === undefined || a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
    let best = -1;
    for (let i = 0; i < this.waiters.length; i++) if (before(this.waiters[i]!, this.waiters[best])) best = i;
    if (best < 0 || (touched.length === 0 && this.holding.size === 0)) return best;
    // How many nodes, waiting or running, read each artifact.
    const readers = new Map<string, number>();
    const count = (reads: readonly string[]) => reads.forEach((d) => readers.set(d, (readers.get(d) ?? 0) + 1));
    this.waiters.forEach((w) => count(w.reads));
    this.holding.forEach((reads) => count(reads));
    const near = new Set(touched);
    const busy = new Set([...this.holding.values()].flat());
    const score = (w: Waiter) => {
      let s = 0;
      for (const d of new Set(w.reads)) s += ((near.has(d) ? 1 : 0) - (busy.has(d) ? 1 : 0)) / readers.get(d)!;
      return s;
    };
    let pick = best;
    let pickScore = score(this.waiters[best]!);
    let queued = 0;
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      queued += w.seconds;
      const sc = score(w);
      if (sc > pickScore + 1e-9 || (Math.abs(sc - pickScore) <= 1e-9 && before(w, this.waiters[pick]))) {
        pick = i;
        pickScore = sc;
      }
    }
    if (pick === best) return best;
    const [b, p] = [this.waiters[best]!, this.waiters[pick]!];
    // Never ahead of a node that other work waits for: detours add up, and a chain delayed by each
    // of them (f_A -> D_R -> its trainings) ends the run late however much work was queued.
    if (b.priority - b.seconds > LEAF_TAIL * b.seconds) return best;
    // Pick first: the best's chain ends pick.seconds later. Best first: the pick's chain ends best.seconds later.
    return p.seconds + b.priority <= Math.max(queued / this.slots, b.seconds + p.priority) ? pick : best;
  }
}
