export {
  type ConsumeOptions,
  createRateLimiter,
  RATE_LIMIT_KEY_PART,
  type RateLimitAlgorithm,
  RateLimiter,
  type RateLimiterDeps,
  type RateLimiterOptions,
  type RateLimitResult,
} from './rate-limiter.ts';
export {
  GCRA as GCRA_SCRIPT,
  SLIDING_LOG as SLIDING_LOG_SCRIPT,
  SLIDING_WINDOW_COUNTER as SLIDING_WINDOW_SCRIPT,
} from './scripts.ts';
