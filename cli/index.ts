export { renderRuntimeStatus } from './table.ts';
