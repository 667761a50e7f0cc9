export { clusterConfEntries } from './cluster-config.ts';
export { resolveClusterProps } from './cluster-props.ts';
