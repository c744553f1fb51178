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
 * A counting semaphore whose waiters are served highest priority first, in arrival order among
 * equals (so without priorities it is the plain first-come semaphore).
 */
export class PrioritySemaphore {
  private readonly waiters: Array<{ priority: number; seq: number; wake: () => void }> = [];
  private seq = 0;

  constructor(private free: number) {}

  async acquire(priority = 0): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((wake) => this.waiters.push({ priority, seq: this.seq++, wake }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      let best = -1;
      for (let i = 0; i < this.waiters.length; i++) {
        const w = this.waiters[i]!;
        const b = best < 0 ? undefined : this.waiters[best]!;
        if (b === undefined || w.priority > b.priority || (w.priority === b.priority && w.seq < b.seq)) best = i;
      }
      if (best < 0) this.free++;
      else this.waiters.splice(best, 1)[0]!.wake();
    };
  }
}
