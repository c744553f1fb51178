/**
 * A reader of Python pickles: the binary opcodes of protocols 1-4 (and a few protocol-0 text ones),
 * enough to read what torch.save wrote in its legacy format (protocol 2). It builds plain values and never runs anything: globals
 * become `PyGlobal` names, and REDUCE/NEWOBJ become `PyCall` records unless the caller's `reduce`
 * hook turns a known callable into a value of its own (as the torch reader does for tensors).
 */

export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyGlobal | PyCall | PyOpaque;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export class PyDict {
  readonly entries: Array<[PyValue, PyValue]> = [];
  get(key: string): PyValue | undefined {
    return this.entries.find(([k]) => k === key)?.[1];
  }
  set(key: PyValue, value: PyValue): void {
    const found = this.entries.find(([k]) => k === key);
    if (found) found[1] = value;
    else this.entries.push([key, value]);
  }
}

export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * `callable(*args)` as it was pickled, with the state a BUILD gave it and the items that
 * SETITEM(S)/APPEND(S) put into it (dict and list subclasses such as OrderedDict).
 */
export class PyCall {
  state: PyValue | undefined;
  readonly dictItems = new PyDict();
  readonly listItems: PyValue[] = [];
  constructor(
    readonly callable: PyValue,
    readonly args: PyTuple,
  ) {}
}

/** A value a hook made (a tensor, a storage); the pickle reader only passes it around. */
export class PyOpaque {
  constructor(readonly value: unknown) {}
}

export interface UnpickleHooks {
  /** BINPERSID / PERSID: turns a persistent id into a value (torch: storages). */
  persistentLoad?(pid: PyValue): PyValue;
  /** REDUCE / NEWOBJ: return undefined to keep the generic `PyCall`. */
  reduce?(callable: PyValue, args: PyTuple): PyValue | undefined;
}

/** Thrown when the pickle continues past the end of the bytes given: read more and retry. */
export class PickleTruncated extends Error {}

export class PickleError extends Error {}

/** A short human description of a value, for error messages ("list of 3", "torch.FloatStorage()"). */
export function describePy(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (typeof v === 'string') return `str ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (v instanceof Uint8Array) return `bytes of length ${v.length}`;
  if (Array.isArray(v)) return `list of ${v.length}${v.length ? ` (first: ${describePy(v[0])})` : ''}`;
  if (v instanceof PyTuple) return `tuple of ${v.items.length}`;
  if (v instanceof PyDict)
    return `dict with keys ${v.entries
      .map(([k]) => (typeof k === 'string' ? k : describePy(k)))
      .slice(0, 5)
      .join(', ')}`;
  if (v instanceof PyGlobal) return v.qualified;
  if (v instanceof PyCall) return `${v.callable instanceof PyGlobal ? v.callable.qualified : describePy(v.callable)}(...)`;
  return 'opaque value';
}

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

const OPNAMES: Record<number, string> = {
  0x95: 'FRAME',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
  0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x92: 'NEWOBJ_EX',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x69: 'INST',
  0x6f: 'OBJ',
};

function signedLittleEndian(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function textInt(s: string, where: number): number | bigint {
  const t = s.replace(/L$/, '');
  if (!/^-?\d+$/.test(t)) throw new PickleError(`bad integer literal ${JSON.stringify(s)} at byte ${where}`);
  const b = BigInt(t);
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/**
 * Reads one pickle from `buf` starting at `start`. Returns its value and the offset just past
 * its STOP opcode. Throws `PickleTruncated` if `buf` ends first.
 */
export function unpickle(buf: Uint8Array, start = 0, hooks: UnpickleHooks = {}): { value: PyValue; end: number } {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = start;
  const stack: StackItem[] = [];
  const memo = new Map<number, PyValue>();

  const need = (n: number) => {
    if (pos + n > buf.length) throw new PickleTruncated(`pickle needs byte ${pos + n}, have ${buf.length}`);
  };
  const u8 = () => (need(1), buf[pos++]!);
  const bytes = (n: number) => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const line = () => {
    let end = pos;
    while (end < buf.length && buf[end] !== 0x0a) end++;
    if (end >= buf.length) throw new PickleTruncated('pickle line runs past the end');
    const s = latin1.decode(buf.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new PickleError(`pickle stack underflow at byte ${pos}`);
    return v;
  };
  const popMark = (): PyValue[] => {
    const items: PyValue[] = [];
    for (;;) {
      const v = stack.pop();
      if (v === undefined) throw new PickleError(`pickle MARK missing at byte ${pos}`);
      if (v === MARK) return items.reverse();
      items.push(v);
    }
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new PickleError(`pickle stack empty at byte ${pos}`);
    return v;
  };
  const memoGet = (k: number): PyValue => {
    if (!memo.has(k)) throw new PickleError(`pickle memo key ${k} unset at byte ${pos}`);
    return memo.get(k)!;
  };
  const call = (callable: PyValue, args: PyValue): PyValue => {
    if (!(args instanceof PyTuple)) throw new PickleError(`pickle REDUCE arguments are not a tuple at byte ${pos}`);
    const made = hooks.reduce?.(callable, args);
    if (made !== undefined) return made;
    // Protocol 2 writes Python 3 bytes as _codecs.encode(text, 'latin1'): a pure function, so undo it.
    const [text, codec] = args.items;
    if (callable instanceof PyGlobal && callable.qualified === '_codecs.encode' && typeof text === 'string' && codec === 'latin1') {
      return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
    }
    return new PyCall(callable, args);
  };
  const persistent = (pid: PyValue): PyValue => {
    if (!hooks.persistentLoad) throw new PickleError(`pickle has a persistent id (${describePy(pid)}) and no loader was given`);
    return hooks.persistentLoad(pid);
  };
  const setItems = (target: PyValue, items: PyValue[]) => {
    const dict = target instanceof PyCall ? target.dictItems : target;
    if (!(dict instanceof PyDict)) throw new PickleError(`pickle SETITEM(S) on ${describePy(dict)} at byte ${pos}`);
    for (let i = 0; i + 1 < items.length; i += 2) dict.set(items[i]!, items[i + 1]!);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80:
        u8();
        break; // PROTO
      case 0x95:
        bytes(8);
        break; // FRAME: frames only group bytes
      case 0x2e:
        return { value: pop(), end: pos }; // STOP
      case 0x28:
        stack.push(MARK);
        break; // MARK
      case 0x30:
        pop();
        break; // POP
      case 0x31:
        popMark();
        break; // POP_MARK
      case 0x32:
        stack.push(top());
        break; // DUP
      case 0x4e:
        stack.push(null);
        break; // NONE
      case 0x88:
        stack.push(true);
        break; // NEWTRUE
      case 0x89:
        stack.push(false);
        break; // NEWFALSE
      case 0x4a:
        stack.push(i32());
        break; // BININT
      case 0x4b:
        stack.push(u8());
        break; // BININT1
      case 0x4d:
        stack.push(u16());
        break; // BININT2
      case 0x8a:
        stack.push(signedLittleEndian(bytes(u8())));
        break; // LONG1
      case 0x8b:
        stack.push(signedLittleEndian(bytes(u32())));
        break; // LONG4
      case 0x49: {
        // INT (protocol 0; "01"/"00" are booleans)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : textInt(s, at));
        break;
      }
      case 0x4c:
        stack.push(textInt(line(), at));
        break; // LONG
      case 0x47:
        need(8);
        pos += 8;
        stack.push(view.getFloat64(pos - 8, false));
        break; // BINFLOAT (big-endian)
      case 0x46:
        stack.push(Number(line()));
        break; // FLOAT
      case 0x58: {
        // BINUNICODE
        const n = u32();
        try {
          stack.push(utf8.decode(bytes(n)));
        } catch (err) {
          if (err instanceof PickleTruncated) throw err;
          throw new PickleError(`pickle string at byte ${at} is not valid UTF-8`);
        }
        break;
      }
      case 0x8c:
        stack.push(utf8.decode(bytes(u8())));
        break; // SHORT_BINUNICODE
      case 0x54:
        stack.push(latin1.decode(bytes(u32())));
        break; // BINSTRING (Python 2 str)
      case 0x55:
        stack.push(latin1.decode(bytes(u8())));
        break; // SHORT_BINSTRING
      case 0x42:
        stack.push(bytes(u32()).slice());
        break; // BINBYTES
      case 0x43:
        stack.push(bytes(u8()).slice());
        break; // SHORT_BINBYTES
      case 0x53:
        stack.push(line().replace(/^'(.*)'$|^"(.*)"$/, '$1$2'));
        break; // STRING (protocol 0)
      case 0x5d:
        stack.push([]);
        break; // EMPTY_LIST
      case 0x6c:
        stack.push(popMark());
        break; // LIST
      case 0x61: {
        // APPEND
        const v = pop();
        const t = top();
        const list = t instanceof PyCall ? t.listItems : t;
        if (!Array.isArray(list)) throw new PickleError(`pickle APPEND to ${describePy(list)} at byte ${at}`);
        list.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const t = top();
        const list = t instanceof PyCall ? t.listItems : t;
        if (!Array.isArray(list)) throw new PickleError(`pickle APPENDS to ${describePy(list)} at byte ${at}`);
        list.push(...items);
        break;
      }
      case 0x29:
        stack.push(new PyTuple([]));
        break; // EMPTY_TUPLE
      case 0x74:
        stack.push(new PyTuple(popMark()));
        break; // TUPLE
      case 0x85:
        stack.push(new PyTuple([pop()]));
        break; // TUPLE1
      case 0x86: {
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      } // TUPLE2
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      } // TUPLE3
      case 0x7d:
        stack.push(new PyDict());
        break; // EMPTY_DICT
      case 0x64: {
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      } // DICT
      case 0x73: {
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      } // SETITEM
      case 0x75: {
        const items = popMark();
        setItems(top(), items);
        break;
      } // SETITEMS
      case 0x63: {
        const module = line();
        const name = line();
        stack.push(new PyGlobal(module, name));
        break;
      } // GLOBAL
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new PickleError(`pickle STACK_GLOBAL needs two strings at byte ${at}`);
        stack.push(new PyGlobal(module, name));
        break;
      }
      case 0x52: {
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args));
        break;
      } // REDUCE
      case 0x81: {
        const args = pop();
        const cls = pop();
        stack.push(call(cls, args));
        break;
      } // NEWOBJ
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyCall) obj.state = state;
        else if (obj instanceof PyDict && state instanceof PyDict) for (const [k, v] of state.entries) obj.set(k, v);
        // Hook-made values (tensors) ignore their state, as torch's rebuild functions do.
        break;
      }
      case 0x71:
        memo.set(u8(), top());
        break; // BINPUT
      case 0x72:
        memo.set(u32(), top());
        break; // LONG_BINPUT
      case 0x70:
        memo.set(Number(line()), top());
        break; // PUT
      case 0x94:
        memo.set(memo.size, top());
        break; // MEMOIZE
      case 0x68:
        stack.push(memoGet(u8()));
        break; // BINGET
      case 0x6a:
        stack.push(memoGet(u32()));
        break; // LONG_BINGET
      case 0x67:
        stack.push(memoGet(Number(line())));
        break; // GET
      case 0x51:
        stack.push(persistent(pop()));
        break; // BINPERSID
      case 0x50:
        stack.push(persistent(line()));
        break; // PERSID
      default: {
        const name = OPNAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
        throw new PickleError(`unsupported pickle opcode ${name} (0x${op.toString(16)}) at byte ${at}`);
      }
    }
  }
}
