export * from './cli/commands';
