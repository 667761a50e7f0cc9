export { formatForkHeadroom, measureForkHeadroom } from './fork-headroom.ts';
export {
  formatOps,
  formatRow,
  measure,
  measureInterleaved,
  median,
  memoryRow,
  parseArgs,
  toRow,
} from './lib.ts';
