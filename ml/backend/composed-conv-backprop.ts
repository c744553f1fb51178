import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, Conv2DBackpropInputAttrs, KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { KernelComposer } from './kernel-composer.ts';

/**
 * Convolution gradients expressed through the backend's own forward Conv2D kernel, so a backend
 * with a fast forward convolution (wasm: XNNPACK) gets fast gradients too.
 *
 * Both work on NHWC input and HWIO filters with dilation 1 (what tfjs' Conv2D gradient emits).
 */

function convInfoOf(xShape: number[], filterShape: number[], attrs: Conv2DBackpropInputAttrs | Conv2DBackpropFilterAttrs) {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    throw new Error(`composed conv backprop: dataFormat '${attrs.dataFormat}' unsupported, use NHWC`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

/**
 * dW[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s+kh-top, ow*s+kw-left, ci] * dy[n,oh,ow,co].
 * Read as a stride-1 convolution whose "batch" is ci, whose "channels" are n, and whose filter is
 * dy dilated by the stride: conv(x^T[ci,H,W,n], dy^T[oh,ow,n,co], dilation s) = dW^T[ci,kh,kw,co].
 */
export function composedConv2DBackpropFilter(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
    const a = attrs as unknown as Conv2DBackpropFilterAttrs;
    const filterShape = [...a.filterShape];
    const info = convInfoOf(x.shape, filterShape, a);
    const c = new KernelComposer(backend as KernelBackend, backendName);
    const xT = c.transpose(x, [3, 1, 2, 0]);
    const dyT = c.transpose(dy, [1, 2, 0, 3]);
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const { filterHeight: fh, filterWidth: fw, inHeight: h, inWidth: w } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const needH = fh + (oh - 1) * sh;
    const needW = fw + (ow - 1) * sw;
    const xP = c.padOrCrop(xT, [
      [0, 0],
      [top, needH - h - top],
      [left, needW - w - left],
      [0, 0],
    ]);
    const convAttrs: NamedAttrMap = {
      strides: [1, 1],
      pad: 'valid',
      dataFormat: 'NHWC',
      dilations: [sh, sw],
      dimRoundingMode: undefined as unknown as string,
    };
    const dWT = c.run('Conv2D', { x: xP, filter: dyT }, convAttrs);
    return c.finish(c.transpose(dWT, [1, 2, 0, 3]));
  };
}

/**
 * dx = full correlation of the stride-dilated dy with the spatially flipped, in/out-swapped
 * filter. Zero interleaving for stride s: dy[n,oh,ow,co] -> [n,oh,1,ow,1,co], pad the unit axes
 * to s, reshape to [n, oh*s, ow*s, co] (the s-1 trailing zeros act as extra bottom padding).
 */
export function composedConv2DBackpropInput(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = attrs as unknown as Conv2DBackpropInputAttrs;
    const inputShape = [...a.inputShape];
    const info = convInfoOf(inputShape, filter.shape, a);
    const c = new KernelComposer(backend as KernelBackend, backendName);
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const { filterHeight: fh, filterWidth: fw, inHeight: h, inWidth: w, batchSize: n, outChannels: co } = info;
    let dyD = dy;
    if (sh > 1 || sw > 1) {
      const r = c.reshape(dy, [n, oh, 1, ow, 1, co]);
      const p = c.padOrCrop(r, [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]);
      dyD = c.reshape(p, [n, oh * sh, ow * sw, co]);
    }
    const top = fh - 1 - info.padInfo.top;
    const left = fw - 1 - info.padInfo.left;
    const dyP = c.padOrCrop(dyD, [
      [0, 0],
      [top, h + fh - 1 - top - oh * sh],
      [left, w + fw - 1 - left - ow * sw],
      [0, 0],
    ]);
    const flipped = c.run('Reverse', { x: filter }, { dims: [0, 1] });
    const wT = c.transpose(flipped, [0, 1, 3, 2]);
    const convAttrs: NamedAttrMap = {
      strides: [1, 1],
      pad: 'valid',
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined as unknown as string,
    };
    return c.finish(c.run('Conv2D', { x: dyP, filter: wT }, convAttrs));
  };
}

export function composedConvBackpropConfigs(backendName: string): KernelConfig[] {
  return [
    { kernelName: 'Conv2DBackpropFilter', backendName, kernelFunc: composedConv2DBackpropFilter(backendName) },
    { kernelName: 'Conv2DBackpropInput', backendName, kernelFunc: composedConv2DBackpropInput(backendName) },
  ];
}
