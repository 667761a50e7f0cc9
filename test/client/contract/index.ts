export { eventually, shiftedClock } from './clock.ts';
export type { ContractFixture } from './fixture.ts';
