/**
 * Colour jitter on one HWC float image in [0, 1], with torchvision's ColorJitter semantics (the
 * robustness library's CIFAR transform uses ColorJitter(0.25, 0.25, 0.25)):
 * - brightness f: x <- clamp(f * x)
 * - contrast f:   x <- clamp(f * x + (1 - f) * m), m the mean grey level of the whole image
 * - saturation f: x <- clamp(f * x + (1 - f) * g), g the pixel's grey level
 * with grey = 0.2989 R + 0.587 G + 0.114 B, clamping to [0, 1] after each operation.
 * Single-channel images are their own grey level (saturation leaves them unchanged).
 */

export type JitterOp = 'brightness' | 'contrast' | 'saturation';
export const JITTER_OPS: readonly JitterOp[] = ['brightness', 'contrast', 'saturation'];

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

function grey(img: Float32Array, p: number, channels: number): number {
  if (channels === 1) return img[p]!;
  return 0.2989 * img[p]! + 0.587 * img[p + 1]! + 0.114 * img[p + 2]!;
}

export function adjustBrightness(img: Float32Array, factor: number): void {
  for (let i = 0; i < img.length; i++) img[i] = clamp01(factor * img[i]!);
}

export function adjustContrast(img: Float32Array, channels: number, factor: number): void {
  const pixels = img.length / channels;
  let sum = 0;
  for (let p = 0; p < pixels; p++) sum += grey(img, p * channels, channels);
  const mean = sum / pixels;
  const offset = (1 - factor) * mean;
  for (let i = 0; i < img.length; i++) img[i] = clamp01(factor * img[i]! + offset);
}

export function adjustSaturation(img: Float32Array, channels: number, factor: number): void {
  if (channels === 1) return;
  for (let p = 0; p < img.length; p += channels) {
    const g = (1 - factor) * grey(img, p, channels);
    for (let c = 0; c < channels; c++) img[p + c] = clamp01(factor * img[p + c]! + g);
  }
}

export function applyJitter(img: Float32Array, channels: number, op: JitterOp, factor: number): void {
  if (op === 'brightness') adjustBrightness(img, factor);
  else if (op === 'contrast') adjustContrast(img, channels, factor);
  else adjustSaturation(img, channels, factor);
}
