import { sleep } from '../process/index.ts';
import { runHandler } from './container.ts';
import { type ContainerPod, type ContainerRun, handlerTarget, stopContainer } from './container-run.ts';
import type { Probe } from './types.ts';

/** Default probe fields (Kubernetes API reference, Probe). */
export const PROBE_DEFAULTS = {
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 3,
};

const failureThreshold = (probe: Probe) => probe.failureThreshold ?? PROBE_DEFAULTS.failureThreshold;
const successThreshold = (probe: Probe) => probe.successThreshold ?? PROBE_DEFAULTS.successThreshold;

/**
 * Runs one probe on its schedule (initial delay, then every period) until `signal` aborts or `onResult` returns
 * false; `onResult` sees each result with the current success and failure streaks.
 */
async function probeLoop(
  pod: ContainerPod,
  c: ContainerRun,
  probe: Probe,
  signal: AbortSignal,
  onResult: (ok: boolean, streak: { ok: number; fail: number }, output: string) => boolean,
): Promise<void> {
  const p = { ...PROBE_DEFAULTS, ...probe };
  const streak = { ok: 0, fail: 0 };
  await sleep(p.initialDelaySeconds * 1000, signal);
  while (!signal.aborted) {
    const result = await runHandler(probe, handlerTarget(pod, c), p.timeoutSeconds * 1000);
    if (signal.aborted) return;
    if (result.ok) {
      streak.ok++;
      streak.fail = 0;
    } else {
      streak.fail++;
      streak.ok = 0;
    }
    if (!onResult(result.ok, streak, result.output)) return;
    await sleep(p.periodSeconds * 1000, signal);
  }
}

/**
 * Startup, then liveness and readiness probes of a running container, each on its own schedule, until `signal`
 * aborts: a failed startup or liveness probe stops the container (its restart loop restarts it per restartPolicy),
 * readiness sets `c.ready`. Without a readiness probe the container is ready once started.
 * @see https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-probes
 */
export function startProbes(pod: ContainerPod, c: ContainerRun, signal: AbortSignal): void {
  const loop = (probe: Probe, onResult: Parameters<typeof probeLoop>[4]) => probeLoop(pod, c, probe, signal, onResult);
  const liveAndReady = () => {
    const { livenessProbe, readinessProbe } = c.spec;
    if (livenessProbe) {
      void loop(livenessProbe, (ok, streak, output) => {
        if (ok || streak.fail < failureThreshold(livenessProbe)) return true;
        pod.event(`container '${c.spec.name}' failed its liveness probe ${streak.fail} times: ${output}; killing it`);
        void stopContainer(pod, c, pod.graceMs);
        return false;
      });
    }
    if (readinessProbe) {
      void loop(readinessProbe, (ok, streak) => {
        const before = c.ready;
        if (ok && streak.ok >= successThreshold(readinessProbe)) c.ready = true;
        if (!ok && streak.fail >= failureThreshold(readinessProbe)) c.ready = false;
        if (before !== c.ready) pod.changed();
        return true;
      });
    } else {
      c.ready = true;
      pod.changed();
    }
  };
  const { startupProbe } = c.spec;
  if (!startupProbe) {
    liveAndReady();
    return;
  }
  void loop(startupProbe, (ok, streak, output) => {
    if (ok) {
      c.started = true;
      liveAndReady();
      return false;
    }
    if (streak.fail >= failureThreshold(startupProbe)) {
      pod.event(`container '${c.spec.name}' failed its startup probe ${streak.fail} times: ${output}; killing it`);
      void stopContainer(pod, c, pod.graceMs);
      return false;
    }
    return true;
  });
}
