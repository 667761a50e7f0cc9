export { connectData } from './connect.ts';
export { spreadChannels } from './pubsub-delivery.ts';
