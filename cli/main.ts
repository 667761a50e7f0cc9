import { Command, Option } from 'commander';
import { parseAssumeCrds, parseDnsDelay, reexecIfNotRoot } from '../runtime/local/index.ts';
import { registerApply } from './commands/apply.ts';
import { registerChaos } from './commands/chaos.ts';
import { down } from './commands/down.ts';
import { registerExec } from './commands/exec.ts';
import { registerFaults } from './commands/faults.ts';
import { registerPortForward } from './commands/port-forward.ts';
import { printStatus, status } from './commands/status.ts';
import { synth } from './commands/synth.ts';
import { parseCount, untilSignal, up } from './commands/up.ts';

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
    .option('--manifests <path>', 'a multi-document YAML file or a dir of them', 'dist')
    .option('--detach', "return once healthy and leave it running ('slotforge down' stops it)", false)
    .option('--timeout <seconds>', 'how long to wait for a healthy deployment', parseCount('timeout', 1), 180)
    .option('--json', 'print the status as JSON', false)
    .option(
      '--assume-crds <groups>',
      'comma-separated API groups whose CRDs count as installed (an operator installs them), e.g. monitoring.coreos.com,cert-manager.io',
    )
    .option(
      '--dns-delay <duration>',
      "how long a DNS change takes to reach clients, as behind CoreDNS's cache (0 = at once)",
      (raw: string) => parseDnsDelay(raw, 'option --dns-delay'),
    );

type UpFlags = {
  manifests: string;
  detach: boolean;
  timeout: number;
  json: boolean;
  assumeCrds?: string;
  dnsDelay?: number;
};

async function runUp(flags: UpFlags, afterUp?: () => Promise<void>): Promise<void> {
  const options = {
    stateDir: stateDir(),
    manifests: flags.manifests,
    json: flags.json,
    timeoutMs: flags.timeout * 1000,
    ...(flags.assumeCrds !== undefined ? { assumeCrds: parseAssumeCrds(flags.assumeCrds) } : {}),
    dnsDelayMs: flags.dnsDelay,
  };
  try {
    await up(options);
  } catch (error) {
    // In the foreground nothing may outlive us; detached, the user reads the events and runs `down`.
    if (!flags.detach) await down(stateDir(), { quiet: true });
    throw error;
  }
  if (flags.detach) {
    if (!flags.json) console.log("detached: 'slotforge status' shows it, 'slotforge down' stops it");
    return;
  }
  await afterUp?.();
  console.log('up until Ctrl-C');
  await untilSignal();
  await down(stateDir());
}

upOptions(program.command('start'))
  .description(
    'the main job: synthesize the manifests, run them on the local runtime, show the client patterns, stay up until Ctrl-C',
  )
  .action(async (flags: UpFlags) => {
    // As a normal user the whole command runs in a user namespace of its own, where the runtime is root.
    if (await reexecIfNotRoot()) return;
    await synth();
    await runUp(flags, async () => {
      const { demo } = await import('./commands/demo.ts');
      await demo(stateDir());
      printStatus(await status(stateDir()));
    });
  });

upOptions(program.command('up'))
  .description('run the synthesized manifests as processes: a network namespace per pod, probes, controllers, DNS')
  .action(async (flags: UpFlags) => {
    if (await reexecIfNotRoot()) return;
    await runUp(flags);
  });

program
  .command('status')
  .description('every pod (IP, readiness, role, ports), every Redis Cluster (cluster_state, slot coverage), every Job')
  .option('--json', 'print JSON for machines', false)
  .action(async (flags: { json: boolean }) => {
    const report = await status(stateDir());
    if (flags.json) console.log(JSON.stringify(report, null, 2));
    else printStatus(report);
  });

program
  .command('down')
  .description('stop every pod and remove everything the runtime created (also after a runtime that died)')
  .action(async () => {
    await down(stateDir());
  });

program.command('synth').description('synthesize the manifests into dist/').action(synth);

registerFaults(program, stateDir);
registerExec(program, stateDir);
registerPortForward(program, stateDir, parseCount('base-port', 1));
registerApply(program, stateDir);

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
