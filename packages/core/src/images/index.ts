/**
 * `@gradsign/core/images`: decoding source images (JPEG/PNG, with sharp) into model input, and the
 * image index's decode-at-use. A subpath of its own, so stages that never see an image folder do
 * not load sharp.
 */
export * from './decode-image.ts';
export * from './flaws.ts';
export * from './ordered-map.ts';
export * from './shared-exclusive-lock.ts';
export * from './indexed-images.ts';
