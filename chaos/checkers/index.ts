export { checkCounterBounds } from './counter-bounds.ts';
export { checkCoverage } from './coverage.ts';
export { checkErrorBudget } from './error-budget.ts';
export { checkLostWrites, type LostWritesOptions } from './lost-writes.ts';
export { checkNoneForgotten } from './none-forgotten.ts';
export { checkPubSubDelivery, type PubSubFigures } from './pubsub.ts';
export { checkRecovery, maxOf, measureRecovery, type RecoveryFigures, type RecoveryOptions } from './recovery.ts';
export { checkMoveCompleted, checkSlotsClosed } from './slots-closed.ts';
export type { Checker, Verdict } from './verdict.ts';
