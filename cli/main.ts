import { Command, Option } from 'commander';
import { registerChaos } from './commands/chaos.ts';
import { down } from './commands/down.ts';
import { printStatus, status } from './commands/status.ts';
import { synth } from './commands/synth.ts';
import { parseCount, stopForeground, untilSignal, up } from './commands/up.ts';

const program = new Command()
  .name('slotforge')
  .description(
    'Redis Cluster on Kubernetes as TypeScript code: manifests, a local runtime, client, chaos and dashboards.',
  )
  .version('0.1.0')
  .addOption(new Option('--state-dir <dir>', 'where the local deployment keeps its state').default('.slotforge'))
  .showHelpAfterError();

const stateDir = () => program.opts<{ stateDir: string }>().stateDir;

const upOptions = (cmd: Command) =>
  cmd
    .option('--detach', 'return at once and leave the deployment running', false)
    .option('--shards <n>', 'primary shards', parseCount('shards', 3), 3)
    .option('--replicas <n>', 'replicas per shard', parseCount('replicas', 0), 1)
    .option('--json', 'print the status as JSON', false);

type UpFlags = { detach: boolean; shards: number; replicas: number; json: boolean };

async function runUp(flags: UpFlags): Promise<void> {
  const cluster = await up({ stateDir: stateDir(), ...flags });
  if (flags.detach) {
    if (!flags.json) console.log("detached: 'slotforge status' shows it, 'slotforge down' stops it");
    return;
  }
  console.log('up until Ctrl-C');
  await untilSignal();
  await stopForeground(cluster, stateDir());
}

upOptions(program.command('start'))
  .description(
    'the main job: synthesize the manifests, start a local Redis Cluster, print its status, stay up until Ctrl-C',
  )
  .action(async (flags: UpFlags) => {
    await synth();
    await runUp(flags);
  });

upOptions(program.command('up'))
  .description('start a local Redis Cluster (3 masters, 3 replicas by default, auth on)')
  .action(runUp);

program
  .command('status')
  .description('role, slots, keys and memory of every node of the local deployment')
  .option('--json', 'print JSON for machines', false)
  .action(async (flags: { json: boolean }) => {
    const report = await status(stateDir());
    if (flags.json) console.log(JSON.stringify(report, null, 2));
    else printStatus(report);
  });

program
  .command('down')
  .description('stop the local deployment and remove its state')
  .action(async () => {
    const result = await down(stateDir());
    console.log(
      `stopped ${result.stopped} process(es)${result.killed ? `, killed ${result.killed} that did not stop` : ''}; removed ${result.stateDir}`,
    );
  });

program.command('synth').description('synthesize the manifests into dist/').action(synth);

program
  .command('monitor')
  .description('start a redis_exporter per node and Prometheus with the slotforge alerts; print where to look')
  .option('--detach', "return at once and leave it running ('slotforge down' stops it)", false)
  .option('--port <n>', 'Prometheus port on 127.0.0.1 (default: a free port)', parseCount('port', 1))
  .option('--interval <duration>', 'scrape and rule evaluation interval', '5s')
  .option('--json', 'print the report as JSON', false)
  .action(async (flags: { detach: boolean; port?: number; interval: string; json: boolean }) => {
    // Loaded on use: the dashboards code is not needed by the other commands.
    const { runMonitor } = await import('./commands/monitor.ts');
    await runMonitor({ stateDir: stateDir(), ...flags });
  });

registerChaos(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`slotforge: ${(error as Error).message}`);
  process.exitCode = 1;
});
