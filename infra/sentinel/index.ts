export { SENTINEL_EXAMPLE_NAMESPACE } from './example.ts';
