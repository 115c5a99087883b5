export * from './cli/commands';
export * from './trace/scope-tree';
