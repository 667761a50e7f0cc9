export {
  type AcquireOptions,
  createLocks,
  LOCKS_DEFAULTS,
  type LockHandle,
  Locks,
  type LocksDeps,
  type LocksOptions,
} from './mutex.ts';
