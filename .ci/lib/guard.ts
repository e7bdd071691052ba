/**
 * AWS CloudFormation Guard with the AWS Control Tower proactive-control rules, offline: both ship in the
 * npm package @cdklabs/cdk-validator-cfnguard (the `cfn-guard` binary per platform, and
 * rules/control-tower/cfn-guard/<service>/ct-*.guard).
 * https://docs.aws.amazon.com/controltower/latest/controlreference/proactive-controls.html
 *
 * Suppressions. The Control Tower rules do not read resource metadata (cdk-validator-cfnguard issue
 * #202), so suppression is applied here, after the scan, from the Guard Rules Registry's convention plus
 * a mandatory reason next to each rule:
 *
 *   Metadata:
 *     guard:
 *       SuppressedRules: [ct-s3-pr-9]
 *       Reasons:
 *         ct-s3-pr-9: Why this control does not apply to this resource.
 *
 * A finding is suppressed only on the resource that names its rule. A suppression without a reason,
 * naming an unknown rule, or no longer matching any finding is itself an error, so the list stays honest.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CfnTemplate } from './sls-package';

const PACKAGE_DIR = path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
export const CONTROL_TOWER_RULES = path.join(PACKAGE_DIR, 'rules', 'control-tower', 'cfn-guard');

/** The cfn-guard binary the package ships for this machine. */
export function guardBinary(): string {
  const platform = { linux: 'ubuntu', darwin: 'macos' }[os.platform() as string];
  const arch = { x64: 'x86_64', arm64: 'aarch64' }[os.arch() as string];
  if (!platform || !arch)
    throw new Error(`no cfn-guard binary for ${os.platform()}/${os.arch()} in ${PACKAGE_DIR}`);
  const binary = path.join(PACKAGE_DIR, 'bin', platform, arch, 'cfn-guard');
  if (!fs.existsSync(binary)) throw new Error(`cfn-guard not found at ${binary}`);
  return binary;
}

/** Every rule id (file name without .guard, e.g. ct-s3-pr-9) under a rules directory. */
export function ruleIds(rulesDir = CONTROL_TOWER_RULES): Set<string> {
  const ids = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name));
      else if (entry.name.endsWith('.guard')) ids.add(entry.name.replace(/\.guard$/, ''));
    }
  };
  walk(rulesDir);
  return ids;
}

export interface Finding {
  /** Rule id in file-name form, e.g. ct-s3-pr-9 (from the control id in the rule's message). */
  rule: string;
  /** Guard's rule name, e.g. s3_bucket_object_lock_enabled_check. */
  ruleName: string;
  /** Logical id of the non-compliant resource, or undefined when Guard named none. */
  resource: string | undefined;
  message: string;
}

export interface GuardReport {
  findings: Finding[];
  failures: Finding[];
  suppressed: Array<Finding & { reason: string }>;
  /** Malformed, unknown or unused suppressions. */
  problems: string[];
}

/** Run cfn-guard and turn its structured JSON into one finding per (rule, resource). */
export function scan(templatePath: string, rulesDir = CONTROL_TOWER_RULES): Finding[] {
  const result = spawnSync(
    guardBinary(),
    [
      'validate',
      '--rules',
      rulesDir,
      '--data',
      templatePath,
      '--output-format',
      'json',
      '--structured',
      '--show-summary',
      'none',
    ],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  if (result.error) throw result.error;
  // 0: all compliant; 19: non-compliant (5 in older releases). Anything else is Guard failing to run.
  if (![0, 5, 19].includes(result.status ?? -1)) {
    throw new Error(`cfn-guard exited with ${result.status ?? result.signal}:\n${result.stderr}`);
  }
  return parseFindings(JSON.parse(result.stdout || '[]'));
}

type GuardFileResult = { not_compliant?: Array<{ Rule?: { name?: string } & Record<string, unknown> }> };

export function parseFindings(results: GuardFileResult[]): Finding[] {
  const findings: Finding[] = [];
  for (const file of results) {
    for (const entry of file.not_compliant ?? []) {
      const rule = entry.Rule;
      if (!rule) continue;
      const resources = new Set<string>();
      const messages = new Set<string>();
      walk(rule, (key, value) => {
        if (key === 'path' && typeof value === 'string') {
          const match = /^\/Resources\/([^/]+)/.exec(value);
          if (match?.[1]) resources.add(match[1]);
        }
        if (key === 'custom_message' && typeof value === 'string' && value.trim()) messages.add(value.trim());
      });
      const message = [...messages].find((m) => /\[CT\.[A-Z0-9.-]+\]/.test(m)) ?? [...messages][0] ?? '';
      const control = /\[(CT\.[A-Z0-9-]+\.PR\.\d+)\]/.exec(message)?.[1];
      const id = control ? control.toLowerCase().replace(/\./g, '-') : (rule.name ?? 'unknown');
      const summary = message.split('\n')[0]!.trim();
      for (const resource of resources.size > 0 ? resources : new Set([undefined])) {
        findings.push({ rule: id, ruleName: rule.name ?? id, resource, message: summary });
      }
    }
  }
  return findings;
}

function walk(node: unknown, visit: (key: string, value: unknown) => void): void {
  if (Array.isArray(node)) node.forEach((item) => walk(item, visit));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      visit(key, value);
      walk(value, visit);
    }
  }
}

interface Suppression {
  resource: string;
  rule: string;
  reason: string | undefined;
}

/** The suppressions declared in resource metadata (see the header). */
export function suppressions(template: Pick<CfnTemplate, 'Resources'>): Suppression[] {
  const out: Suppression[] = [];
  for (const [resource, definition] of Object.entries(template.Resources ?? {})) {
    const guard = (definition.Metadata?.guard ?? {}) as {
      SuppressedRules?: unknown;
      Reasons?: Record<string, unknown>;
    };
    const rules = Array.isArray(guard.SuppressedRules) ? guard.SuppressedRules : [];
    for (const rule of rules) {
      const reason = guard.Reasons?.[String(rule)];
      out.push({
        resource,
        rule: String(rule),
        reason: typeof reason === 'string' ? reason.trim() : undefined,
      });
    }
  }
  return out;
}

const MIN_REASON_LENGTH = 30;

export function applySuppressions(
  findings: Finding[],
  template: Pick<CfnTemplate, 'Resources'>,
  knownRules: Set<string> = ruleIds(),
): GuardReport {
  const declared = suppressions(template);
  const problems: string[] = [];
  const valid = new Map<string, string>();
  for (const s of declared) {
    if (!knownRules.has(s.rule)) problems.push(`${s.resource}: suppresses unknown rule ${s.rule}`);
    else if (!s.reason || s.reason.length < MIN_REASON_LENGTH) {
      problems.push(
        `${s.resource}: suppression of ${s.rule} has no reason (Metadata.guard.Reasons.${s.rule})`,
      );
    } else valid.set(`${s.resource}\u0000${s.rule}`, s.reason);
  }
  const used = new Set<string>();
  const failures: Finding[] = [];
  const suppressed: GuardReport['suppressed'] = [];
  for (const finding of findings) {
    const key = `${finding.resource}\u0000${finding.rule}`;
    const reason = finding.resource === undefined ? undefined : valid.get(key);
    if (reason === undefined) failures.push(finding);
    else {
      used.add(key);
      suppressed.push({ ...finding, reason });
    }
  }
  for (const key of valid.keys()) {
    if (!used.has(key)) {
      const [resource, rule] = key.split('\u0000');
      problems.push(`${resource}: suppression of ${rule} matches no finding (remove it)`);
    }
  }
  return { findings, failures, suppressed, problems };
}

export function formatReport(report: GuardReport): string {
  const lines: string[] = [];
  lines.push(
    `cfn-guard (AWS Control Tower proactive controls): ${report.findings.length} finding(s), ` +
      `${report.suppressed.length} suppressed with a reason, ${report.failures.length} failure(s), ${report.problems.length} suppression problem(s)`,
  );
  for (const s of report.suppressed) lines.push(`  suppressed ${s.rule} on ${s.resource}: ${s.reason}`);
  for (const f of report.failures)
    lines.push(`  FAIL ${f.rule} (${f.ruleName}) on ${f.resource ?? '(template)'}: ${f.message}`);
  for (const p of report.problems) lines.push(`  PROBLEM ${p}`);
  return lines.join('\n');
}
