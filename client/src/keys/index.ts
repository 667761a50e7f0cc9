/** Key names: the namespace (Keyspace), hash tags and key definitions. */
export { defineKey, escapeGlob, hasHashTag, hashTag, KEY_SEPARATOR, type KeyPart, Keyspace } from './keys.ts';
