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
 * Locality: a slot freed by a node goes instead to the waiter that reads the most of what that
 * node read or wrote (the model it trained or evaluated), highest priority among those, when the
 * detour cannot lengthen the run: the waiters hold more work per slot than the most urgent one's
 * chain plus the detour, so that chain does not decide when the run ends. The worker that just
 * ran the node then finds what it keeps from one node to the next (a loaded model, the labels of
 * an earlier attack) still useful.
 */
export class PrioritySemaphore {
  private readonly waiters: Waiter[] = [];
  private seq = 0;
  private readonly slots: number;

  constructor(private free: number) {
    this.slots = free;
  }

  async acquire(request: number | SlotRequest = 0): Promise<SlotRelease> {
    const r = typeof request === 'number' ? { priority: request } : request;
    if (this.free > 0) this.free--;
    else await new Promise<void>((wake) => this.waiters.push({ priority: r.priority, seconds: r.seconds ?? 0, reads: r.reads ?? [], seq: this.seq++, wake }));
    let released = false;
    return (touched) => {
      if (released) return;
      released = true;
      const next = this.choose(touched);
      if (next < 0) this.free++;
      else this.waiters.splice(next, 1)[0]!.wake();
    };
  }

  private choose(touched: readonly string[] | undefined): number {
    const before = (a: Waiter, b: Waiter | undefined) => b === undefined || a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
    let best = -1;
    for (let i = 0; i < this.waiters.length; i++) if (before(this.waiters[i]!, this.waiters[best])) best = i;
    if (best < 0 || touched === undefined || touched.length === 0) return best;
    const near = new Set(touched);
    let local = -1;
    let localShared = 0;
    let queued = 0;
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      queued += w.seconds;
      let shared = 0;
      for (const d of w.reads) if (near.has(d)) shared++;
      if (shared > localShared || (shared > 0 && shared === localShared && before(w, this.waiters[local]))) {
        local = i;
        localShared = shared;
      }
    }
    if (local < 0 || local === best) return best;
    return this.waiters[best]!.priority + this.waiters[local]!.seconds <= queued / this.slots ? local : best;
  }
}
