#!/usr/bin/env node
/**
 * Keeps package-lock.json acceptable to `npm ci` on this workplace's registry mirror.
 *
 * The mirror serves only some platforms' builds of packages that ship native binaries as optional
 * dependencies (@duckdb/node-bindings-*, @swc/core-*, @unrs/resolver-binding-*). `npm install` then
 * leaves those platforms out of the lockfile, and `npm ci` refuses the lockfile as out of sync.
 * This adds the entries npm would have written against the full registry: version, optional, and the
 * os/cpu that make every other platform skip them. Run it after `npm install`:
 *
 *   node .ci/complete-lockfile.js          # fix in place
 *   node .ci/complete-lockfile.js --check  # exit 1 if something is missing (CI)
 */
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const packages = lock.packages;

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'];
const CPU = ['arm64', 'x64', 'arm', 'ia32', 'ppc64', 's390x', 'loong64', 'riscv64', 'mips64el'];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p));
  const libc = parts.some((p) => p.startsWith('musl')) ? 'musl' : parts.some((p) => p === 'gnu' || p.startsWith('gnueabi')) ? 'glibc' : undefined;
  return os && cpu ? { os, cpu, libc } : undefined;
}

const added = [];
for (const [where, meta] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const platform = platformOf(dep);
    if (!platform) continue;
    // npm hoists to the top level unless a nested copy exists
    const nested = `${where ? where + '/' : ''}node_modules/${dep}`;
    if (packages[nested] || packages[`node_modules/${dep}`]) continue;
    packages[`node_modules/${dep}`] = {
      version,
      cpu: [platform.cpu],
      optional: true,
      os: [platform.os],
      ...(platform.libc ? { libc: [platform.libc] } : {}),
      ...(meta.dev ? { dev: true } : {}),
    };
    added.push(`${dep}@${version}`);
  }
}

if (process.argv.includes('--check')) {
  if (added.length > 0) {
    console.error(`package-lock.json lacks ${added.length} platform entries: run node .ci/complete-lockfile.js`);
    process.exit(1);
  }
  console.log('package-lock.json: platform entries complete');
} else {
  lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
  fs.writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
  console.log(added.length ? `added ${added.length} entries: ${added.join(', ')}` : 'nothing to add');
}
