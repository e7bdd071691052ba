/**
 * `sls package` (osls) into a fresh directory, offline, for the template tests and the Guard scan.
 *
 * - Nothing may leave loopback: dummy AWS credentials, no instance-metadata probing, no snowflake-sdk
 *   platform detection, no AWS profile. osls resolves serverless.yml without AWS (docs/ARCHITECTURE.md §8).
 * - Each run bundles in its own work folder (SLS_ESBUILD_WORK_FOLDER, see serverless.yml), so parallel
 *   runs in one checkout do not clobber each other.
 * - serverless-esbuild keeps the process alive after a failed bundle (its esbuild context is never
 *   disposed), so a run that has printed osls's error banner is stopped after a short grace period,
 *   and every run has a hard time limit; the whole process group is killed either way.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export type CfnTemplate = {
  AWSTemplateFormatVersion?: string;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, unknown>;
};

export type CfnResource = {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
  Metadata?: Record<string, unknown>;
  DeletionPolicy?: string;
};

export interface PackageOptions {
  stage?: string;
  /** `--param name=value` pairs. */
  params?: Record<string, string>;
  /** Where the zips and templates go; a new temporary directory by default. */
  outDir?: string;
  timeoutMs?: number;
  serviceDir?: string;
}

export interface PackageResult {
  outDir: string;
  templatePath: string;
  template: CfnTemplate;
  createTemplate: CfnTemplate;
  /** osls's console output, for error messages. */
  output: string;
}

/** The environment of an offline osls run: the parent's, minus anything that could reach AWS. */
export function offlineEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of [
    'AWS_PROFILE',
    'AWS_DEFAULT_PROFILE',
    'AWS_SESSION_TOKEN',
    'AWS_ROLE_ARN',
    'AWS_WEB_IDENTITY_TOKEN_FILE',
  ]) {
    delete env[name];
  }
  return {
    ...env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    SNOWFLAKE_DISABLE_PLATFORM_DETECTION: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    FORCE_COLOR: '0',
  };
}

const OSLS_BIN = path.join(REPO_ROOT, 'node_modules', 'osls', 'bin', 'serverless.js');

export async function packageService(opts: PackageOptions = {}): Promise<PackageResult> {
  const stage = opts.stage ?? 'dev';
  const serviceDir = opts.serviceDir ?? REPO_ROOT;
  const outDir = opts.outDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `sls-package-${stage}-`));
  const workFolder = path.join('.esbuild', `run-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  const args = [OSLS_BIN, 'package', '--stage', stage, '--package', outDir];
  for (const [name, value] of Object.entries(opts.params ?? {})) args.push(`--param=${name}=${value}`);

  const { output } = await run(process.execPath, args, {
    cwd: serviceDir,
    env: { ...offlineEnv(), SLS_ESBUILD_WORK_FOLDER: workFolder },
    timeoutMs: opts.timeoutMs ?? 180_000,
  }).finally(() => fs.rmSync(path.join(serviceDir, workFolder), { recursive: true, force: true }));

  const templatePath = path.join(outDir, 'cloudformation-template-update-stack.json');
  if (!fs.existsSync(templatePath)) {
    throw new Error(`sls package --stage ${stage} wrote no template to ${outDir}:\n${output}`);
  }
  return {
    outDir,
    templatePath,
    template: JSON.parse(fs.readFileSync(templatePath, 'utf8')) as CfnTemplate,
    createTemplate: JSON.parse(
      fs.readFileSync(path.join(outDir, 'cloudformation-template-create-stack.json'), 'utf8'),
    ) as CfnTemplate,
    output,
  };
}

/** The fully resolved serverless.yml of a stage (`sls print --format json`), without packaging. */
export async function printService(
  opts: Pick<PackageOptions, 'stage' | 'params' | 'serviceDir' | 'timeoutMs'> = {},
): Promise<Record<string, unknown>> {
  const args = [OSLS_BIN, 'print', '--stage', opts.stage ?? 'dev', '--format', 'json'];
  for (const [name, value] of Object.entries(opts.params ?? {})) args.push(`--param=${name}=${value}`);
  const { stdout, output } = await run(process.execPath, args, {
    cwd: opts.serviceDir ?? REPO_ROOT,
    env: offlineEnv(),
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
  // the JSON document is everything from the first line that opens it
  const start = stdout.search(/^\{/m);
  if (start < 0) throw new Error(`sls print wrote no JSON:\n${output}`);
  return JSON.parse(stdout.slice(start)) as Record<string, unknown>;
}

/** osls prints this banner before the message of a fatal error. */
const ERROR_BANNER = /^Error:\s*$/m;

function run(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<{ stdout: string; output: string }> {
  return new Promise((resolve, reject) => {
    // its own process group, so esbuild's service process dies with it
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let stdout = '';
    let reason: string | undefined;
    const kill = (why: string) => {
      reason ??= why;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => kill(`timed out after ${opts.timeoutMs} ms`), opts.timeoutMs);
    let grace: NodeJS.Timeout | undefined;
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!grace && ERROR_BANNER.test(output)) {
        grace = setTimeout(() => kill('failed (osls printed an error and did not exit)'), 5_000);
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      collect(chunk);
    });
    child.stderr.on('data', collect);
    child.on('error', (err) => {
      clearTimeout(timer);
      clearTimeout(grace);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(grace);
      if (code === 0 && !reason) resolve({ stdout, output });
      else
        reject(
          new Error(
            `${path.basename(args[0] ?? command)} ${args.slice(1).join(' ')} ${reason ?? `exited with ${code ?? signal}`}:\n${tail(output)}`,
          ),
        );
    });
  });
}

function tail(text: string, lines = 60): string {
  // drop the stack frames osls prints under an error; keep the message
  return text
    .split('\n')
    .filter((line) => !/^\s+at /.test(line))
    .slice(-lines)
    .join('\n');
}
