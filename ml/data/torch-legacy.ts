/**
 * Reader of files written by `torch.save` in the legacy (non-zip) format, which is what PyTorch 1.1
 * wrote and what Ilyas et al.'s D_R/D_NR files are (docs/method/robust-datasets.md#the-published-files). The layout is five pickles
 * followed by raw storage data:
 *
 *   1. the magic number 0x1950a86a20f9469cfc6c   2. the protocol version 1001
 *   3. sys info (little_endian, type sizes)       4. the object, whose storages are persistent ids
 *      ('storage', StorageClass, key, location, numel, view_metadata)
 *   5. the list of storage keys; then, per key in that order, an int64 element count and the data.
 *
 * Only the pickles are read eagerly; tensor data is read from the file on demand, one tensor at a
 * time, so a 614 MB image list never sits in memory whole. Storages saved from CUDA
 * (`torch.cuda.FloatStorage`, location 'cuda:0') read like CPU ones.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { PickleTruncated, PyDict, PyGlobal, PyOpaque, PyTuple, describePy, unpickle, type PyValue } from './pickle.ts';

export const TORCH_LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
export const TORCH_LEGACY_PROTOCOL = 1001;

export type TorchDtype = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const STORAGE_TYPES: Record<string, { dtype: TorchDtype; bytes: number }> = {
  FloatStorage: { dtype: 'float32', bytes: 4 },
  DoubleStorage: { dtype: 'float64', bytes: 8 },
  HalfStorage: { dtype: 'float16', bytes: 2 },
  LongStorage: { dtype: 'int64', bytes: 8 },
  IntStorage: { dtype: 'int32', bytes: 4 },
  ShortStorage: { dtype: 'int16', bytes: 2 },
  CharStorage: { dtype: 'int8', bytes: 1 },
  ByteStorage: { dtype: 'uint8', bytes: 1 },
  BoolStorage: { dtype: 'bool', bytes: 1 },
};

/** One stored storage: where its elements lie in the file. */
export interface TorchStorage {
  readonly key: string;
  /** e.g. 'torch.FloatStorage' or 'torch.cuda.FloatStorage'. */
  readonly typeName: string;
  readonly dtype: TorchDtype;
  readonly elementBytes: number;
  /** 'cpu', 'cuda:0', ... */
  readonly location: string;
  readonly numel: number;
  /** File offset of element 0 (set once the storage table has been read). */
  dataOffset: number;
}

/** A tensor as pickled: a strided view into a storage. */
export interface TorchTensor {
  readonly storage: TorchStorage;
  /** Element offset of the view within the storage (includes a storage view's own offset). */
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

export interface TorchLegacyFile {
  readonly path: string;
  readonly root: PyValue;
  readonly storages: ReadonlyMap<string, TorchStorage>;
  readonly fileBytes: number;
}

export function isTensor(v: PyValue | undefined): v is PyOpaque & { value: TorchTensor } {
  return v instanceof PyOpaque && typeof v.value === 'object' && v.value !== null && 'stride' in v.value;
}

function asInt(v: PyValue | undefined, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new Error(`${what} is ${describePy(v)}, expected an integer`);
}

function intTuple(v: PyValue | undefined, what: string): number[] {
  if (!(v instanceof PyTuple)) throw new Error(`${what} is ${describePy(v)}, expected a tuple`);
  return v.items.map((x, i) => asInt(x, `${what}[${i}]`));
}

function readRange(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafeSlow(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return done === length ? buf : buf.subarray(0, done);
}

/** Parses the pickles and the storage table of a legacy torch.save file. */
export function readTorchLegacy(path: string): TorchLegacyFile {
  const fd = openSync(path, 'r');
  try {
    const fileBytes = fstatSync(fd).size;
    const fail = (msg: string): never => {
      throw new Error(`torch file ${path}: ${msg}`);
    };
    const head = readRange(fd, 0, Math.min(fileBytes, 4));
    if (head.length >= 2 && head[0] === 0x50 && head[1] === 0x4b) {
      fail("is a zip archive (torch.save's newer format); this reader handles only the legacy format that PyTorch 1.1 wrote");
    }
    if (head.length === 0 || head[0] !== 0x80) fail('does not start with a pickle (not a legacy torch.save file)');

    const storages = new Map<string, TorchStorage>();
    const persistentLoad = (pid: PyValue): PyValue => {
      if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage') return fail(`unknown persistent id ${describePy(pid)}`);
      const [, cls, key, location, numel, view] = pid.items;
      if (!(cls instanceof PyGlobal) || (cls.module !== 'torch' && cls.module !== 'torch.cuda') || !(cls.name in STORAGE_TYPES)) {
        return fail(`unsupported storage type ${describePy(cls)}`);
      }
      if (typeof key !== 'string' || typeof location !== 'string') return fail(`malformed storage id ${describePy(pid)}`);
      const type = STORAGE_TYPES[cls.name]!;
      let storage = storages.get(key);
      if (!storage) {
        storage = {
          key,
          typeName: cls.qualified,
          dtype: type.dtype,
          elementBytes: type.bytes,
          location,
          numel: asInt(numel, `storage ${key} size`),
          dataOffset: -1,
        };
        storages.set(key, storage);
      }
      let viewOffset = 0;
      if (view !== null && view !== undefined) {
        // (view_key, offset, size): a view into root storage `key` (old PyTorch storage views).
        if (!(view instanceof PyTuple)) return fail(`malformed storage view ${describePy(view)}`);
        viewOffset = asInt(view.items[1], `storage view ${key} offset`);
      }
      return new PyOpaque({ storage, viewOffset });
    };
    const reduce = (callable: PyValue, args: PyTuple): PyValue | undefined => {
      if (!(callable instanceof PyGlobal)) return undefined;
      if (callable.qualified === 'collections.OrderedDict') return new PyDict();
      if (callable.qualified !== 'torch._utils._rebuild_tensor_v2' && callable.qualified !== 'torch._utils._rebuild_tensor') return undefined;
      const [st, offset, size, stride] = args.items;
      const ref = st instanceof PyOpaque ? (st.value as { storage?: TorchStorage; viewOffset?: number }) : undefined;
      if (!ref?.storage) return fail(`tensor refers to ${describePy(st)} instead of a storage`);
      const tensor: TorchTensor = {
        storage: ref.storage,
        offset: (ref.viewOffset ?? 0) + asInt(offset, 'tensor storage offset'),
        shape: intTuple(size, 'tensor size'),
        stride: intTuple(stride, 'tensor stride'),
      };
      return new PyOpaque(tensor);
    };

    // The pickles are small; read a prefix and grow it until all five parse.
    let prefix = Math.min(fileBytes, 1 << 20);
    for (;;) {
      const buf = readRange(fd, 0, prefix);
      storages.clear();
      try {
        let at = 0;
        const next = (hooks = {}) => {
          const r = unpickle(buf, at, hooks);
          at = r.end;
          return r.value;
        };
        const magic = next();
        if (magic !== TORCH_LEGACY_MAGIC) fail(`magic number ${describePy(magic)}, expected 0x${TORCH_LEGACY_MAGIC.toString(16)}`);
        const protocol = next();
        if (protocol !== TORCH_LEGACY_PROTOCOL) fail(`protocol version ${describePy(protocol)}, expected ${TORCH_LEGACY_PROTOCOL}`);
        const sysInfo = next();
        if (!(sysInfo instanceof PyDict) || sysInfo.get('little_endian') !== true) fail(`sys info ${describePy(sysInfo)} does not say little-endian`);
        const root = next({ persistentLoad, reduce });
        const keys = next();
        if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) fail(`storage key list is ${describePy(keys)}`);
        // Storage data: per key, int64 element count, then the elements.
        let offset = at;
        for (const key of keys as string[]) {
          const storage = storages.get(key) ?? fail(`storage key ${key} is listed but no tensor uses it`);
          const countBytes = readRange(fd, offset, 8);
          if (countBytes.length < 8) fail(`truncated: storage ${key} should start at byte ${offset}, the file has ${fileBytes}`);
          const numel = Number(countBytes.readBigInt64LE(0));
          if (numel !== storage.numel) fail(`storage ${key} holds ${numel} elements, its tensors declared ${storage.numel}`);
          storage.dataOffset = offset + 8;
          offset += 8 + numel * storage.elementBytes;
          if (offset > fileBytes) fail(`truncated: storage ${key} needs bytes up to ${offset}, the file has ${fileBytes}`);
        }
        const unlisted = [...storages.keys()].filter((k) => !(keys as string[]).includes(k));
        if (unlisted.length > 0) fail(`storages ${unlisted.join(', ')} are used but not stored`);
        if (offset !== fileBytes) fail(`${fileBytes - offset} unexpected bytes after the last storage`);
        return { path, root, storages, fileBytes };
      } catch (err) {
        if (!(err instanceof PickleTruncated)) {
          const msg = (err as Error).message;
          throw msg.startsWith('torch file') ? err : new Error(`torch file ${path}: ${msg}`);
        }
        if (prefix >= fileBytes) fail('truncated inside its pickles');
        prefix = Math.min(fileBytes, prefix * 4);
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The file's root as a list of tensors (a single tensor counts as a list of one). Anything else is
 * an error that says what the file holds instead.
 */
export function tensorList(file: TorchLegacyFile): TorchTensor[] {
  const items = isTensor(file.root) ? [file.root] : file.root;
  if (!Array.isArray(items)) throw new Error(`torch file ${file.path}: holds ${describePy(file.root)}, expected a list of tensors or a tensor`);
  return items.map((v, i) => {
    if (!isTensor(v)) throw new Error(`torch file ${file.path}: item ${i} is ${describePy(v)}, expected a tensor`);
    return v.value;
  });
}

export type TensorValues = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

function viewAs(dtype: TorchDtype, buf: Buffer): TensorValues {
  const b = buf.buffer;
  const o = buf.byteOffset;
  switch (dtype) {
    case 'float32':
      return new Float32Array(b, o, buf.length / 4);
    case 'float64':
      return new Float64Array(b, o, buf.length / 8);
    case 'int64':
      return new BigInt64Array(b, o, buf.length / 8);
    case 'int32':
      return new Int32Array(b, o, buf.length / 4);
    case 'int16':
      return new Int16Array(b, o, buf.length / 2);
    case 'int8':
      return new Int8Array(b, o, buf.length);
    case 'uint8':
    case 'bool':
      return new Uint8Array(b, o, buf.length);
    case 'float16':
      throw new Error('float16 tensors are not supported');
  }
}

/**
 * The elements of `tensor` in row-major (contiguous) order, read from the file: only the storage
 * span the view covers is read.
 */
export function readTensor(file: TorchLegacyFile, tensor: TorchTensor): TensorValues {
  const { storage, shape, stride, offset } = tensor;
  const what = `torch file ${file.path}: tensor of shape [${shape.join(', ')}]`;
  if (storage.dataOffset < 0) throw new Error(`${what}: storage ${storage.key} has no data`);
  if (storage.dtype === 'float16') throw new Error(`${what}: float16 tensors are not supported`);
  if (shape.length !== stride.length) throw new Error(`${what}: ${stride.length} strides for ${shape.length} dimensions`);
  const count = shape.reduce((a, b) => a * b, 1);
  let lo = offset;
  let hi = offset;
  for (let d = 0; d < shape.length; d++) {
    if (shape[d]! < 0) throw new Error(`${what}: negative size`);
    if (shape[d] === 0) continue;
    const reach = (shape[d]! - 1) * stride[d]!;
    if (reach < 0) lo += reach;
    else hi += reach;
  }
  if (count > 0 && (lo < 0 || hi >= storage.numel)) {
    throw new Error(`${what}: view reaches elements ${lo}..${hi} of a storage of ${storage.numel}`);
  }
  const elementBytes = storage.elementBytes;
  const span = count === 0 ? 0 : hi - lo + 1;
  const fd = openSync(file.path, 'r');
  let raw: Buffer;
  try {
    raw = readRange(fd, storage.dataOffset + lo * elementBytes, span * elementBytes);
  } finally {
    closeSync(fd);
  }
  if (raw.length !== span * elementBytes) throw new Error(`${what}: file ends inside the tensor's data`);
  const src = viewAs(storage.dtype, raw);
  const out = new (src.constructor as new (n: number) => TensorValues)(count);
  const base = offset - lo;
  const contiguous = shape.every((_, d) => stride[d] === shape.slice(d + 1).reduce((a, b) => a * b, 1) || shape[d] === 1);
  if (contiguous) {
    (out as Float32Array).set((src as Float32Array).subarray(base, base + count));
    return out;
  }
  // Walk the index space in row-major order, tracking the storage position.
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let p = base;
  for (let i = 0; i < count; i++) {
    (out as Float32Array)[i] = (src as Float32Array)[p]!;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]!++;
      p += stride[d]!;
      if (idx[d]! < shape[d]!) break;
      p -= stride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}
