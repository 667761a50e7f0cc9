export {
  type Channel,
  type ChannelOptions,
  createPubSub,
  type MalformedMessage,
  type MessageHandler,
  type MessageValidator,
  PubSub,
  type PubSubDeps,
} from './pubsub.ts';
