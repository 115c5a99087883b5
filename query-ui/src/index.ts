export * from './trace/scope-tree';
export { buildApp, startQueryServer } from './server/app';
export type { AppOptions, QueryServer } from './server/app';
