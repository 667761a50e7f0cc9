/** Codecs and the versioned envelope every stored value is wrapped in. Every export of these files is for other folders. */
export * from './codec.ts';
export * from './envelope.ts';
export { jsonCodec, parseTagged, stringifyTagged } from './json.ts';
export * from './msgpack.ts';
