import { ConfigErrors, loadConfigFile } from '@distlog/collector/config';
import { commonSettings, loadSettingsConfig, UsageError } from '../settings';
import type { Command } from '../command';
import { say, parse, untilSignal } from '../command';
import { reloader } from '../server-verbs';
import { loadCollector } from '../load-collector';
import { assertPortsFree, receiverPorts } from '../ports';

export const collector: Command = {
  summary: 'run only the collector (`distlog collector check-config FILE` validates a configuration)',
  usage:
    'distlog collector [--config FILE] [--clickhouse-url URL] [--database NAME] [--grpc-port N] [--http-port N] [--home DIR]\n' +
    '       distlog collector check-config FILE',
  async run(args) {
    const parsed = parse(args, this.usage);
    const [sub, file] = parsed.positionals;
    if (sub === 'check-config') {
      if (!file) throw new UsageError(`check-config needs a FILE\nusage: ${this.usage}`);
      try {
        const config = loadConfigFile(file);
        say(
          `${file}: ok — ${config.tiers.length} tiers (${config.tiers.map((t) => t.name).join(', ')}), ` +
            `${config.rules.length} rules, ${config.destinations.length} destinations, ` +
            `${config.metrics.length} metrics${config.metrics.length ? ` (${config.metrics.map((m) => m.name).join(', ')})` : ''}`,
        );
        return 0;
      } catch (err) {
        if (err instanceof ConfigErrors) {
          say(err.message);
          return 1;
        }
        throw err;
      }
    }
    if (sub !== undefined)
      throw new UsageError(`unknown collector command ${JSON.stringify(sub)}\nusage: ${this.usage}`);
    const settings = commonSettings(parsed.values);
    const config = loadSettingsConfig(settings);
    await assertPortsFree(receiverPorts(config));
    const running = await (await loadCollector()).startCollector({ config });
    // One machine-readable line, so scripts and tests can use port 0.
    process.stdout.write(
      JSON.stringify({ event: 'listening', grpcPort: running.grpcPort, httpPort: running.httpPort }) + '\n',
    );
    await untilSignal(reloader(settings, running, config.clickhouse.url));
    await running.stop();
    return 0;
  },
};
