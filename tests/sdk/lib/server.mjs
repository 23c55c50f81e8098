// lib/server.mjs: starts a real sealdisk server on a free port in a fresh
// temporary data directory (HOME inside it, so the CLI profile written at
// the first start lands there too) and reads back the AccessKey it made.
// Plain HTTP on loopback unless extraArgs turn TLS on ('--api-tls', 'on');
// then `ca` is the server's self-signed certificate (PEM).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The SDKs' own timeouts (a few seconds) are for a remote cloud; a server on
// a loaded CI machine may take longer to be scheduled, and a test that fails
// for that tells nothing.  A real hang still ends at ctest's timeout.
export const TIMEOUTS = { connectTimeout: 30000, readTimeout: 120000 };

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function parseProfile(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

export async function startServer(extraArgs = []) {
  const bin = process.env.SEALDISK;
  if (!bin) throw new Error('SEALDISK must name the sealdisk binary');
  const dir = mkdtempSync(join(tmpdir(), 'sealdisk-sdk-'));
  const port = await freePort();
  const env = { ...process.env, HOME: dir };
  const child = spawn(bin, ['server', '--data-dir', join(dir, 'data'),
    '--listen', `127.0.0.1:${port}`, '--api-tls', 'off', ...extraArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  let stdout = '';
  child.stdout.on('data', (d) => { stdout += d; });
  const deadline = Date.now() + 15000;
  while (!/ready data_dir=/.test(stderr)) {
    if (child.exitCode !== null) throw new Error(`server exited: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`server not ready: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const profile = parseProfile(readFileSync(join(dir, '.sealdisk', 'profile'), 'utf8'));
  const root = /root account:\s+(\d+)/.exec(stdout);
  return {
    dir,
    port,
    env,
    endpoint: `127.0.0.1:${port}`,
    accessKeyId: profile.access_key_id,
    accessKeySecret: profile.access_key_secret,
    accountId: root ? root[1] : undefined,
    caFile: join(dir, 'data', 'tls', 'api.crt'),
    // Where an account's image files live (ImportImage, ExportImage).
    imageDir: (account) => join(dir, 'data', 'images', account),
    log: () => stderr,
    // A second tenant, made the way an operator makes one.
    createAccount(name) {
      const out = execFileSync(bin, ['account', 'create', name, '--data-dir', join(dir, 'data')],
        { env, encoding: 'utf8' });
      const a = JSON.parse(out);
      return { endpoint: `127.0.0.1:${port}`, accountId: a.AccountId, accessKeyId: a.AccessKeyId,
        accessKeySecret: a.AccessKeySecret };
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
