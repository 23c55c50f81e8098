// tls.test.mjs: the API over HTTPS through the official SDKs.  With
// protocol 'https' and the server's self-signed certificate as the CA,
// kms20160120 (RPC v1), openapi-client (V3) and ecs20140526 all work; with
// no CA or another CA the client refuses the server before sending
// anything, and plain HTTP to the HTTPS port gets no answer.
// openapi-client and ecs20140526 take the CA as the runtime option `ca`;
// kms20160120 1.2.0 (on @alicloud/rpc-client) has no such option, so it is
// given the CA the Node.js way, NODE_EXTRA_CA_CERTS, in a child process.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { createRequire } from 'node:module';
import { startServer } from './lib/server.mjs';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const Kms = require('@alicloud/kms20160120');
const Ecs = require('@alicloud/ecs20140526');
const OpenApi = require('@alicloud/openapi-client');
const { RuntimeOptions } = require('@alicloud/tea-util');

let srv;
let ca;
let otherDir;
let otherCa;

function kms(protocol, runtimeCa) {
  const c = new Kms.default({ endpoint: srv.endpoint, protocol, accessKeyId: srv.accessKeyId,
    accessKeySecret: srv.accessKeySecret, regionId: 'cn-hangzhou' });
  return () => c.listKeysEx({}, new RuntimeOptions({ ca: runtimeCa }));
}

// A TLS failure on the client's side: the certificate was not trusted.
function untrusted(e) {
  assert.match(`${e.code} ${e.message}`, /CERT|certificate|SIGNATURE/i, `${e.code}: ${e.message}`);
  assert.equal(e.data, undefined, 'no answer from the server was read');
  return true;
}

before(async () => {
  srv = await startServer(['--api-tls', 'on']);
  ca = readFileSync(srv.caFile, 'utf8');
  // a certificate for the same names from another issuer (openssl is
  // installed by scripts/install-deps.sh; a missing one fails the test)
  otherDir = mkdtempSync(join(tmpdir(), 'sealdisk-ca-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(otherDir, 'key.pem'),
    '-out', join(otherDir, 'crt.pem')], { stdio: 'ignore' });
  otherCa = readFileSync(join(otherDir, 'crt.pem'), 'utf8');
});

after(async () => {
  if (srv) await srv.stop();
  if (otherDir) rmSync(otherDir, { recursive: true, force: true });
});

// Runs CreateKey and GenerateDataKey with kms20160120 in a child process
// that trusts caFile; resolves to its output (JSON) or rejects.
function kmsChild(caFile) {
  const script = `
    const Kms = require('@alicloud/kms20160120').default;
    const c = new Kms({ endpoint: process.argv[1], protocol: 'https', accessKeyId: process.argv[2],
      accessKeySecret: process.env.SD_SECRET, regionId: 'cn-hangzhou' });
    (async () => {
      const k = await c.createKey({});
      const dk = await c.generateDataKey({ KeyId: k.keyMetadata.keyId });
      console.log(JSON.stringify({ len: Buffer.from(dk.plaintext, 'base64').length }));
    })().catch((e) => { console.error(e.code, e.message); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, srv.endpoint, srv.accessKeyId],
      { cwd: here, env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile,
        SD_SECRET: srv.accessKeySecret } },
      (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(JSON.parse(stdout))));
  });
}

test('kms20160120 over https, trusting the server certificate', async () => {
  // a data key crosses the wire inside TLS
  assert.deepEqual(await kmsChild(srv.caFile), { len: 32 });
});

test('kms20160120 refuses the server without its CA or with another', async () => {
  await assert.rejects(kms('https', undefined)(), untrusted);
  await assert.rejects(kmsChild(join(otherDir, 'crt.pem')), /certificate/);
});

test('plain http to the https port gets no answer', async () => {
  await assert.rejects(kms('http', undefined)(), (e) => {
    assert.equal(e.data, undefined, `an answer: ${e.message}`);
    return true;
  });
});

test('openapi-client (V3 signatures) over https with the CA, and not with another', async () => {
  const api = new OpenApi.default(new OpenApi.Config({ endpoint: srv.endpoint, protocol: 'https',
    accessKeyId: srv.accessKeyId, accessKeySecret: srv.accessKeySecret }));
  const params = new OpenApi.Params({ action: 'ListKeys', version: '2016-01-20',
    protocol: 'HTTPS', pathname: '/', method: 'POST', authType: 'AK', style: 'RPC',
    reqBodyType: 'formData', bodyType: 'json' });
  const req = new OpenApi.OpenApiRequest({ query: {} });
  const r = await api.callApi(params, req, new RuntimeOptions({ ca }));
  assert.ok(r.body.RequestId);
  await assert.rejects(api.callApi(params, req, new RuntimeOptions({ ca: otherCa })), untrusted);
});

test('ecs20140526 over https with the CA, and not without', async () => {
  const c = new Ecs.default({ endpoint: srv.endpoint, protocol: 'https',
    accessKeyId: srv.accessKeyId, accessKeySecret: srv.accessKeySecret, regionId: 'cn-hangzhou' });
  const req = new Ecs.DescribeRegionsRequest({});
  const r = await c.describeRegionsWithOptions(req, new RuntimeOptions({ ca }));
  assert.ok(r.body.regions.region.some((x) => x.regionId === 'cn-hangzhou'));
  await assert.rejects(c.describeRegionsWithOptions(req, new RuntimeOptions({})), untrusted);
});
