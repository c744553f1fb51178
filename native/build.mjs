// Builds the optional native backend (oneDNN kernels) into native/build/robustfeat_native.node.
// Exits 0 with a message when the toolchain or oneDNN is missing: the project then runs on wasm.
// Usage: node native/build.mjs [--strict] [--force]
//   --strict: missing prerequisites are an error; --force: rebuild even if up to date
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict');
const out = join(here, 'build', 'robustfeat_native.node');

function skip(reason) {
  console.log(`native backend not built: ${reason}`);
  process.exit(strict ? 1 : 0);
}

const nodeInclude = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'].find((d) =>
  existsSync(join(d, 'node_api.h')),
);
if (nodeInclude === undefined) skip('Node-API headers (node_api.h) not found');
const dnnlHeader = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/local/include/oneapi/dnnl/dnnl.hpp'].find((f) => existsSync(f));
if (dnnlHeader === undefined) skip('oneDNN headers not found (Debian/Ubuntu: apt-get install -y libdnnl-dev)');
const cxx = process.env.CXX ?? 'g++';
if (spawnSync(cxx, ['--version']).status !== 0) skip(`C++ compiler '${cxx}' not found`);

mkdirSync(join(here, 'build'), { recursive: true });
const sources = [
  'addon.cc',
  'conv.cc',
  'elementwise.cc',
  'batchnorm.cc',
  'pool.cc',
  'group_bn.cc',
  'sgd.cc',
  'bn_relu.cc',
  'resample.cc',
  'bn_eval.cc',
  'augment.cc',
].map((f) => join(here, 'src', f));
const inputs = [
  ...sources,
  ...readdirSync(join(here, 'src'))
    .filter((f) => f.endsWith('.h'))
    .map((f) => join(here, 'src', f)),
  fileURLToPath(import.meta.url),
];
if (!process.argv.includes('--force') && existsSync(out) && inputs.every((f) => statSync(f).mtimeMs < statSync(out).mtimeMs)) {
  console.log(`native backend up to date: ${out}`);
  process.exit(0);
}
const tmp = `${out}.tmp-${process.pid}`;
const args = [
  '-std=c++17',
  '-O3',
  '-march=native',
  '-fPIC',
  '-shared',
  '-fopenmp',
  '-fvisibility=hidden',
  '-DNAPI_VERSION=8',
  '-DNODE_GYP_MODULE_NAME=robustfeat_native',
  `-I${nodeInclude}`,
  `-I${dirname(dirname(dirname(dnnlHeader)))}`,
  ...sources,
  '-o',
  tmp,
  '-ldnnl',
];
console.log(`building native backend: ${cxx} ${args.join(' ')}`);
const r = spawnSync(cxx, args, { stdio: 'inherit' });
if (r.status !== 0) skip(`compiler exited with status ${r.status}`);
renameSync(tmp, out);
console.log(`native backend built: ${out}`);
