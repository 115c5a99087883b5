// Every `distlog` verb, in the order `distlog --help` lists them: one file each under verbs/.
// A verb that runs the collector loads it when it runs; the others never load its runtime.
import type { Command } from './command';
import { up } from './verbs/up';
import { collector } from './verbs/collector';
import { ui } from './verbs/ui';
import { schema } from './verbs/schema';
import { search } from './verbs/search';
import { tail } from './verbs/tail';
import { tree } from './verbs/tree';
import { context } from './verbs/context';
import { level } from './verbs/level';
import { metrics } from './verbs/metrics';
import { patterns } from './verbs/patterns';
import { status } from './verbs/status';

export const COMMANDS: Record<string, Command> = {
  up,
  collector,
  ui,
  schema,
  status,
  search,
  tail,
  tree,
  context,
  level,
  metrics,
  patterns,
};
