/**
 * The detached supervisor of `slotforge up`: runs a {@link LocalRuntime} for the manifests and serves the control
 * socket until SIGTERM or SIGINT, then stops every pod and removes what the runtime created.
 * Usage: node --import tsx runtime/local/supervisor.ts <stateDir> <manifests> [timeScale]
 */
import { resolve } from 'node:path';
import { serveControl } from './control.ts';
import { loadManifests } from './manifests.ts';
import { LocalRuntime } from './runtime.ts';
import { exporterTargetGroups, writeTargetGroups } from './service-discovery.ts';
import { statePaths } from './state.ts';

const [stateDirArg, manifestsArg, scaleArg] = process.argv.slice(2);
if (!stateDirArg || !manifestsArg) {
  console.error('usage: supervisor.ts <stateDir> <manifests> [timeScale]');
  process.exit(2);
}
const stateDir = resolve(stateDirArg);
const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

try {
  const runtime = await LocalRuntime.start({
    stateDir,
    manifests: loadManifests(resolve(manifestsArg)),
    timeScale: scaleArg ? Number(scaleArg) : undefined,
    onEvent: (e) => log(`${e.object}: ${e.message}`),
  });
  // Programs ask the control socket (`status`, `endpoints`, ...); this is the one way in for other processes.
  const server = await serveControl(runtime, statePaths(stateDir).socket);
  // Prometheus file_sd needs a file it re-reads (it cannot ask the socket): the exporter sidecars, rewritten when pods
  // move, so a Prometheus started by `slotforge monitor` follows recreated pods to their new IPs.
  let lastTargets = '';
  const writeExporterTargets = () => {
    const groups = exporterTargetGroups(
      runtime.pods().map((p) => ({
        name: p.name,
        namespace: p.namespace,
        ip: p.ip ?? null,
        phase: p.phase,
        ports: p.ports.map((port) => ({ name: port.name, port: port.containerPort })),
      })),
    );
    const targets = JSON.stringify(groups);
    if (targets === lastTargets) return;
    writeTargetGroups(statePaths(stateDir).exportersSdFile, groups);
    lastTargets = targets;
  };
  const targetsTimer = setInterval(() => {
    try {
      writeExporterTargets();
    } catch {
      // the state dir is being removed
    }
  }, 2000);
  log(`supervising ${stateDir} (prefix ${runtime.prefix}, subnet ${runtime.network.subnet}.0/24)`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping every pod`);
    server.close();
    clearInterval(targetsTimer);
    await runtime.stop();
    log('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
} catch (error) {
  log(`error: ${(error as Error).message}`);
  process.exit(1);
}
