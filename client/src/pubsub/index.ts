export { DedupWindow, type WindowVerdict } from './dedup-window.ts';
export {
  type Channel,
  type ChannelOptions,
  createPubSub,
  type DroppedMessage,
  type MalformedMessage,
  type MessageHandler,
  type MessageValidator,
  PUBSUB_DEFAULTS,
  PubSub,
  type PubSubDeps,
  type PubSubOptions,
} from './pubsub.ts';
