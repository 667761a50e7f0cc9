import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ora from 'ora';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `cdk8s synth` (the same command users run) so that `dist/` holds the manifests. */
export async function synth(): Promise<void> {
  const spinner = ora('synthesizing manifests into dist/ (cdk8s synth)').start();
  const output: Buffer[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      fileURLToPath(new URL('node_modules/.bin/cdk8s', `file://${repoRoot}`)),
      ['synth', '--no-check-upgrade'],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) {
    spinner.fail('cdk8s synth failed');
    process.stderr.write(Buffer.concat(output));
    throw new Error(`cdk8s synth exited with code ${code}`);
  }
  const files = Buffer.concat(output)
    .toString()
    .split('\n')
    .filter((line) => line.trim().startsWith('- dist/'))
    .map((line) => line.trim().slice(2));
  spinner.succeed(`manifests synthesized: ${files.join(', ') || 'dist/'}`);
}
