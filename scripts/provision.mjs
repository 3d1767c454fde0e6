// Makes sure what the test suite needs beyond npm is on the machine: Debian's Chromium for
// the browser tests, redis-server (and redis-cli) for the multi-instance and cluster tests, HAProxy for the
// cluster tests (a load balancer in front of several nodes), and openssl for the self-signed
// certificate of the TLS tests.
// As root it installs what is missing with apt-get; otherwise it stops with one line naming
// the packages to install.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const NEEDS = [
  { binary: '/usr/bin/chromium', pkg: 'chromium' },
  { binary: '/usr/bin/redis-server', pkg: 'redis-server' },
  // redis-cli joins the test's own Redis Cluster (test/helpers/redis-cluster.ts).
  { binary: '/usr/bin/redis-cli', pkg: 'redis-tools' },
  { binary: '/usr/sbin/haproxy', pkg: 'haproxy' },
  { binary: '/usr/bin/openssl', pkg: 'openssl' },
];

const missing = NEEDS.filter((need) => !existsSync(need.binary));
if (missing.length > 0) {
  const pkgs = missing.map((need) => need.pkg);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(`missing: ${pkgs.join(', ')} — install with: sudo apt-get install -y ${pkgs.join(' ')}`);
    process.exit(1);
  }
  console.log(`provision: installing ${pkgs.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...pkgs], { stdio: 'inherit', env });
  for (const need of missing) {
    if (!existsSync(need.binary)) {
      console.error(`provision: ${need.pkg} installed but ${need.binary} is still missing`);
      process.exit(1);
    }
  }
}
