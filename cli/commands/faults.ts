import type { Command } from 'commander';
import { type ControlRequest, control, statePaths } from '../../runtime/local/index.ts';

/**
 * The fault verbs, sent to the supervisor of the state dir: `kill`, `pause`, `resume`, `delete`, `partition`, `heal`.
 * Each prints what it did; errors (an unknown pod, nothing up) name the pod or the state dir.
 */
export function registerFaults(program: Command, stateDir: () => string): void {
  const send = async (request: ControlRequest) => {
    const result = await control<Record<string, unknown>>(statePaths(stateDir()).socket, request);
    return result;
  };
  program
    .command('kill')
    .description('SIGKILL every process of a pod (a crash): its containers restart in place per restartPolicy')
    .argument('<pod>')
    .action(async (pod: string) => {
      const { processes } = await send({ verb: 'kill', pod });
      console.log(`killed ${processes} process(es) of ${pod}`);
    });
  program
    .command('pause')
    .description('SIGSTOP every process of a pod (it stops answering; its probes fail)')
    .argument('<pod>')
    .action(async (pod: string) => {
      const { processes } = await send({ verb: 'pause', pod });
      console.log(`paused ${processes} process(es) of ${pod}`);
    });
  program
    .command('resume')
    .description('SIGCONT every process of a paused pod')
    .argument('<pod>')
    .action(async (pod: string) => {
      const { processes } = await send({ verb: 'resume', pod });
      console.log(`resumed ${processes} process(es) of ${pod}`);
    });
  program
    .command('delete')
    .description('delete a pod gracefully (preStop, SIGTERM, grace period, SIGKILL); its controller recreates it')
    .argument('<pod>')
    .option('--grace-period <seconds>', 'override terminationGracePeriodSeconds', (raw) => {
      const value = Number(raw);
      if (!Number.isFinite(value) || value < 0) {
        throw new Error(`option --grace-period must be a number of seconds >= 0 (got '${raw}')`);
      }
      return value;
    })
    .action(async (pod: string, flags: { gracePeriod?: number }) => {
      const graceMs = flags.gracePeriod === undefined ? undefined : flags.gracePeriod * 1000;
      const { ip } = await send({ verb: 'delete', pod, graceMs });
      console.log(`deleted ${pod} (was ${ip}); its controller creates it again with a new IP`);
    });
  program
    .command('partition')
    .description(
      'drop every packet between the named pods and the pods after --from (both ways), or with --ports only those ports',
    )
    .argument('<pods...>')
    .requiredOption('--from <pods...>', 'the other side')
    .option(
      '--ports <ports...>',
      'cut only these TCP/UDP ports, both ways (16379: the Redis Cluster bus, while clients still reach 6379)',
      (raw: string, previous: number[] = []) => {
        const port = Number(raw);
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          throw new Error(`option --ports must list integers from 1 to 65535 (got '${raw}')`);
        }
        return [...previous, port];
      },
    )
    .action(async (pods: string[], flags: { from: string[]; ports?: number[] }) => {
      await send({ verb: 'partition', pods, from: flags.from, ...(flags.ports ? { ports: flags.ports } : {}) });
      const scope = flags.ports ? ` on port(s) ${flags.ports.join(', ')}` : '';
      console.log(`partitioned ${pods.join(', ')} from ${flags.from.join(', ')}${scope}`);
    });
  program
    .command('heal')
    .description('remove every partition')
    .action(async () => {
      await send({ verb: 'heal' });
      console.log('healed: no partition left');
    });
}
