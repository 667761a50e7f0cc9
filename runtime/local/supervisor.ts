/**
 * The detached supervisor of `slotforge up`: runs a {@link LocalRuntime} for the manifests and serves the control
 * socket until SIGTERM or SIGINT, then stops every pod and removes what the runtime created.
 * Usage: node --import tsx runtime/local/supervisor.ts <stateDir> <manifests> [timeScale]
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
  const server = await serveControl(runtime, statePaths(stateDir).socket);
  // state.json in the format the CLI's other commands read (`slotforge monitor` scrapes these nodes): rewritten when
  // pods move, so it names the current addresses.
  let lastState = '';
  let lastTargets = '';
  const writeState = async () => {
    // The exporter sidecars for Prometheus file_sd (`slotforge monitor` reads it): follows recreated pods' new IPs.
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
    if (targets !== lastTargets) {
      writeTargetGroups(statePaths(stateDir).exportersSdFile, groups);
      lastTargets = targets;
    }
    const endpoints = await runtime.redisEndpoints();
    const password = endpoints.find((e) => e.password)?.password;
    const state = {
      kind: 'cluster',
      createdAt: new Date().toISOString(),
      passwordFile: password ? join(stateDir, 'password') : undefined,
      nodes: endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port, dir: '', pid: process.pid })),
    };
    const key = JSON.stringify({ ...state, createdAt: '' });
    if (key === lastState) return;
    lastState = key;
    if (password) writeFileSync(join(stateDir, 'password'), password, { mode: 0o600 });
    writeFileSync(join(stateDir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  };
  const stateTimer = setInterval(() => void writeState().catch(() => undefined), 2000);
  log(`supervising ${stateDir} (prefix ${runtime.prefix}, subnet ${runtime.network.subnet}.0/24)`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping every pod`);
    server.close();
    clearInterval(stateTimer);
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
