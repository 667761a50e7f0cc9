/** The cluster hash slot of a key: one implementation, the client's. */
export { keySlot } from '@slotforge/client';
