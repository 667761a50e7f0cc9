export { Batch, type BatchDeps, createBatch, type SetManyOptions, type SetManyResult } from './batch.ts';
export { Counters, type CountersDeps, createCounters, type IncrOptions } from './counters.ts';
export { createHashes, Hashes, type HashesDeps, type HashSetOptions } from './hashes.ts';
