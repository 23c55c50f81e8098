// kms.test.mjs: every KMS action through the official SDKs
// (@alicloud/kms20160120 1.2.0 signs RPC v1; @alicloud/openapi-client
// 0.4.15 signs V3 and serves ReEncrypt, which 1.2.0 lacks), and every
// error case with the Code the contract names.
import assert from 'node:assert/strict';
import { constants, publicEncrypt, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRequire } from 'node:module';
import { TIMEOUTS, startServer } from './lib/server.mjs';

const require = createRequire(import.meta.url);
const Kms = require('@alicloud/kms20160120').default;
const OpenApi = require('@alicloud/openapi-client');
const { RuntimeOptions } = require('@alicloud/tea-util');
const PopCore = require('@alicloud/pop-core');

let srv;
let kms;
let api;

function kmsClient(s) {
  return new Kms({ endpoint: s.endpoint, protocol: 'http', accessKeyId: s.accessKeyId,
    accessKeySecret: s.accessKeySecret, regionId: 'cn-hangzhou', ...TIMEOUTS });
}

// A V3 (ACS3-HMAC-SHA256) call through the generic client.
async function v3(action, query, { body } = {}) {
  const params = new OpenApi.Params({ action, version: '2016-01-20', protocol: 'HTTP',
    pathname: '/', method: 'POST', authType: 'AK', style: 'RPC', reqBodyType: 'formData',
    bodyType: 'json' });
  const req = new OpenApi.OpenApiRequest(body ? { body } : { query });
  const r = await api.callApi(params, req, new RuntimeOptions({}));
  return r.body;
}

// Asserts that fn throws the contract's Code (1.2.0 reports it with an
// "Error" suffix and the body in e.data) and status.
async function rejects(fn, code, status) {
  await assert.rejects(fn, (e) => {
    const body = e.data || {};
    assert.equal(body.Code, code, `expected ${code}, got ${JSON.stringify(body)} (${e.message})`);
    if (status) assert.equal(body.HttpStatus, status);
    assert.ok(body.RequestId, 'an error carries a RequestId');
    assert.ok(body.Message, 'an error carries a Message');
    return true;
  });
}

before(async () => {
  // CreateKey's 10/s quota would throttle a test that makes many keys; the
  // quota itself has its own test below.
  srv = await startServer(['--kms-quota-create', '0']);
  kms = kmsClient(srv);
  api = new OpenApi.default(new OpenApi.Config({ endpoint: srv.endpoint, protocol: 'http',
    accessKeyId: srv.accessKeyId, accessKeySecret: srv.accessKeySecret, ...TIMEOUTS }));
});

after(async () => {
  if (srv) await srv.stop();
});

describe('key lifecycle', () => {
  test('CreateKey, DescribeKey and ListKeys with typed members', async () => {
    const k = await kms.createKey({ Description: 'lifecycle' });
    const m = k.keyMetadata;
    assert.match(m.keyId, /^key-[a-z0-9]{20}$/);
    assert.equal(m.keyState, 'Enabled');
    assert.equal(m.keySpec, 'Aliyun_AES_256');
    assert.equal(m.keyUsage, 'ENCRYPT/DECRYPT');
    assert.equal(m.origin, 'Aliyun_KMS');
    assert.equal(m.description, 'lifecycle');
    assert.match(m.arn, /^acs:kms:cn-hangzhou:\d{16}:key\/key-/);
    assert.match(m.creationDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const d = await kms.describeKey({ KeyId: m.keyId });
    assert.equal(d.keyMetadata.keyId, m.keyId);
    // DeletionProtection is in the 3.x model only: read it over V3
    const d3 = await v3('DescribeKey', { KeyId: m.keyId });
    assert.equal(d3.KeyMetadata.DeletionProtection, 'Disabled');
    const l = await kms.listKeys({ PageSize: 100 });
    assert.equal(typeof l.totalCount, 'number');
    assert.equal(l.pageNumber, 1);
    assert.equal(l.pageSize, 100);
    assert.ok(Array.isArray(l.keys.key));
    assert.ok(l.keys.key.some((x) => x.keyId === m.keyId && x.keyArn === m.arn));
  });

  test('ListKeys pages', async () => {
    for (let i = 0; i < 3; i++) await kms.createKey({});
    const all = await kms.listKeys({ PageSize: 100 });
    const p1 = await kms.listKeys({ PageSize: 2, PageNumber: 1 });
    const p2 = await kms.listKeys({ PageSize: 2, PageNumber: 2 });
    assert.equal(p1.keys.key.length, 2);
    assert.equal(p1.totalCount, all.totalCount);
    assert.notEqual(p1.keys.key[0].keyId, p2.keys.key[0].keyId);
    const far = await kms.listKeys({ PageSize: 2, PageNumber: 1000 });
    assert.deepEqual(far.keys.key ?? [], []);
  });

  test('DisableKey stops envelope calls with Rejected.Disabled; EnableKey restores them', async () => {
    const { keyMetadata: { keyId } } = await kms.createKey({});
    const g = await kms.generateDataKey({ KeyId: keyId });
    await kms.disableKey({ KeyId: keyId });
    assert.equal((await kms.describeKey({ KeyId: keyId })).keyMetadata.keyState, 'Disabled');
    await rejects(() => kms.generateDataKey({ KeyId: keyId }), 'Rejected.Disabled', 409);
    await rejects(() => kms.decrypt({ CiphertextBlob: g.ciphertextBlob }), 'Rejected.Disabled', 409);
    await rejects(() => kms.encrypt({ KeyId: keyId, Plaintext: 'eA==' }), 'Rejected.Disabled', 409);
    await kms.enableKey({ KeyId: keyId });
    const d = await kms.decrypt({ CiphertextBlob: g.ciphertextBlob });
    assert.equal(d.plaintext, g.plaintext);
  });

  test('ScheduleKeyDeletion and CancelKeyDeletion', async () => {
    const { keyMetadata: { keyId } } = await kms.createKey({});
    await kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 });
    const m = (await kms.describeKey({ KeyId: keyId })).keyMetadata;
    assert.equal(m.keyState, 'PendingDeletion');
    assert.match(m.deleteDate, /Z$/);
    await rejects(() => kms.encrypt({ KeyId: keyId, Plaintext: 'eA==' }), 'Rejected.PendingDeletion', 409);
    await rejects(() => kms.enableKey({ KeyId: keyId }), 'Rejected.StateModifiedFailed', 409);
    await rejects(() => kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 7 }),
      'Rejected.StateModifiedFailed', 409);
    await rejects(() => kms.updateKeyDescription({ KeyId: keyId, Description: 'x' }),
      'Rejected.PendingDeletion', 409);
    await kms.cancelKeyDeletion({ KeyId: keyId });
    assert.equal((await kms.describeKey({ KeyId: keyId })).keyMetadata.keyState, 'Enabled');
    await rejects(() => kms.cancelKeyDeletion({ KeyId: keyId }), 'Rejected.StateModifiedFailed', 409);
    await rejects(() => kms.scheduleKeyDeletion({ KeyId: keyId, PendingWindowInDays: 6 }),
      'InvalidParameter', 400);
    await rejects(() => kms.scheduleKeyDeletion({ KeyId: keyId }), 'MissingParameter', 400);
  });

  test('UpdateKeyDescription', async () => {
    const { keyMetadata: { keyId } } = await kms.createKey({ Description: 'old' });
    await kms.updateKeyDescription({ KeyId: keyId, Description: 'new' });
    assert.equal((await kms.describeKey({ KeyId: keyId })).keyMetadata.description, 'new');
  });

  test('unknown keys give Forbidden.KeyNotFound and unknown aliases Forbidden.AliasNotFound', async () => {
    await rejects(() => kms.describeKey({ KeyId: 'key-aaaaaaaaaaaaaaaaaaaa' }), 'Forbidden.KeyNotFound', 404);
    await rejects(() => kms.describeKey({ KeyId: 'alias/nowhere' }), 'Forbidden.AliasNotFound', 404);
    await rejects(() => kms.enableKey({ KeyId: 'key-aaaaaaaaaaaaaaaaaaaa' }), 'Forbidden.KeyNotFound', 404);
    await rejects(() => kms.describeKey({}), 'MissingParameter', 400);
  });

  test('CreateKey refuses bad specs and intervals', async () => {
    await rejects(() => kms.createKey({ KeySpec: 'Aliyun_AES_1' }), 'InvalidParameter', 400);
    await rejects(() => kms.createKey({ Origin: 'Elsewhere' }), 'InvalidParameter', 400);
    await rejects(() => kms.createKey({ EnableAutomaticRotation: true, RotationInterval: '1d' }),
      'InvalidParameter', 400);
  });
});

describe('versions and rotation', () => {
  test('CreateKeyVersion, ListKeyVersions, DescribeKeyVersion', async () => {
    const { keyMetadata: m } = await kms.createKey({});
    const v = await kms.createKeyVersion({ KeyId: m.keyId });
    assert.equal(v.keyVersion.keyId, m.keyId);
    assert.notEqual(v.keyVersion.keyVersionId, m.primaryKeyVersion);
    assert.equal((await kms.describeKey({ KeyId: m.keyId })).keyMetadata.primaryKeyVersion,
      v.keyVersion.keyVersionId);
    const l = await kms.listKeyVersions({ KeyId: m.keyId });
    assert.equal(l.totalCount, 2);
    assert.equal(l.keyVersions.keyVersion.length, 2);
    const d = await kms.describeKeyVersion({ KeyId: m.keyId, KeyVersionId: m.primaryKeyVersion });
    assert.equal(d.keyVersion.keyVersionId, m.primaryKeyVersion);
    assert.match(d.keyVersion.creationDate, /Z$/);
    await rejects(() => kms.describeKeyVersion({ KeyId: m.keyId,
      KeyVersionId: '00000000-0000-4000-8000-000000000000' }), 'Forbidden.KeyNotFound', 404);
  });

  test('a blob of an old version still decrypts after rotation', async () => {
    const { keyMetadata: { keyId } } = await kms.createKey({});
    const e = await kms.encrypt({ KeyId: keyId, Plaintext: 'b2xk' });
    await kms.createKeyVersion({ KeyId: keyId });
    const e2 = await kms.encrypt({ KeyId: keyId, Plaintext: 'bmV3' });
    assert.notEqual(e.keyVersionId, e2.keyVersionId);
    assert.equal((await kms.decrypt({ CiphertextBlob: e.ciphertextBlob })).plaintext, 'b2xk');
  });

  test('UpdateRotationPolicy', async () => {
    const { keyMetadata: { keyId } } = await kms.createKey({});
    await kms.updateRotationPolicy({ KeyId: keyId, EnableAutomaticRotation: true,
      RotationInterval: '30d' });
    const m = (await kms.describeKey({ KeyId: keyId })).keyMetadata;
    assert.equal(m.automaticRotation, 'Enabled');
    assert.equal(m.rotationInterval, '2592000s');
    assert.match(m.nextRotationDate, /Z$/);
    await kms.updateRotationPolicy({ KeyId: keyId, EnableAutomaticRotation: false });
    assert.equal((await kms.describeKey({ KeyId: keyId })).keyMetadata.automaticRotation, 'Disabled');
    await rejects(() => kms.updateRotationPolicy({ KeyId: keyId, EnableAutomaticRotation: true,
      RotationInterval: '2d' }), 'InvalidParameter', 400);
  });
});

describe('aliases', () => {
  test('CreateAlias, UpdateAlias, ListAliases, ListAliasesByKeyId, DeleteAlias', async () => {
    const { keyMetadata: a } = await kms.createKey({});
    const { keyMetadata: b } = await kms.createKey({});
    await kms.createAlias({ AliasName: 'alias/sdk-app', KeyId: a.keyId });
    assert.equal((await kms.describeKey({ KeyId: 'alias/sdk-app' })).keyMetadata.keyId, a.keyId);
    const e = await kms.encrypt({ KeyId: 'alias/sdk-app', Plaintext: 'aGk=' });
    assert.equal(e.keyId, a.keyId, 'Encrypt names the real key id');
    await rejects(() => kms.createAlias({ AliasName: 'alias/sdk-app', KeyId: b.keyId }),
      'AliasAlreadyExists', 400);
    await rejects(() => kms.createAlias({ AliasName: 'nope', KeyId: b.keyId }), 'InvalidParameter', 400);
    await rejects(() => kms.createAlias({ AliasName: 'alias/acs/mine', KeyId: b.keyId }),
      'InvalidParameter', 400);
    await kms.updateAlias({ AliasName: 'alias/sdk-app', KeyId: b.keyId });
    const byB = await kms.listAliasesByKeyId({ KeyId: b.keyId });
    assert.equal(byB.totalCount, 1);
    assert.equal(byB.aliases.alias[0].aliasName, 'alias/sdk-app');
    assert.match(byB.aliases.alias[0].aliasArn, /^acs:kms:cn-hangzhou:\d{16}:alias\/sdk-app$/);
    const all = await kms.listAliases({});
    assert.ok(all.aliases.alias.some((x) => x.aliasName === 'alias/sdk-app' && x.keyId === b.keyId));
    await kms.deleteAlias({ AliasName: 'alias/sdk-app' });
    await rejects(() => kms.deleteAlias({ AliasName: 'alias/sdk-app' }), 'Forbidden.AliasNotFound', 404);
    await rejects(() => kms.updateAlias({ AliasName: 'alias/sdk-app', KeyId: a.keyId }),
      'Forbidden.AliasNotFound', 404);
  });

  test('the service key alias/acs/ecs is made on first use and cannot be disabled', async () => {
    const d = await v3('DescribeKey', { KeyId: 'alias/acs/ecs' });
    assert.equal(d.KeyMetadata.DeletionProtection, 'Enabled');
    await rejects(() => kms.disableKey({ KeyId: 'alias/acs/ecs' }), 'Rejected.UnsupportedOperation');
    await rejects(() => kms.scheduleKeyDeletion({ KeyId: 'alias/acs/ecs', PendingWindowInDays: 7 }),
      'Rejected.UnsupportedOperation');
  });
});

describe('tags', () => {
  test('TagResource, ListResourceTags, UntagResource', async () => {
    const { keyMetadata: { keyId } } = await kms.createKey({});
    await kms.tagResource({ KeyId: keyId, Tags: JSON.stringify([{ TagKey: 'team', TagValue: 'storage' },
      { TagKey: 'env', TagValue: 'ci' }]) });
    const t = await kms.listResourceTags({ KeyId: keyId });
    assert.deepEqual(t.tags.tag.map((x) => `${x.tagKey}=${x.tagValue}`).sort(), ['env=ci', 'team=storage']);
    assert.ok(t.tags.tag.every((x) => x.keyId === keyId));
    await kms.untagResource({ KeyId: keyId, TagKeys: JSON.stringify(['env']) });
    const t2 = await kms.listResourceTags({ KeyId: keyId });
    assert.deepEqual(t2.tags.tag.map((x) => x.tagKey), ['team']);
    await rejects(() => kms.tagResource({ KeyId: keyId, Tags: '[{"TagKey":' }), 'InvalidParameter', 400);
    await rejects(() => kms.tagResource({ KeyId: keyId, Tags: '[{"TagValue":"x"}]' }), 'InvalidParameter', 400);
    await rejects(() => kms.untagResource({ KeyId: keyId, TagKeys: '"env"' }), 'InvalidParameter', 400);
    assert.deepEqual((await kms.listResourceTags({ KeyId: keyId })).tags.tag.map((x) => x.tagKey), ['team']);
  });
});

describe('envelope encryption', () => {
  test('GenerateDataKey returns a base64 key that Decrypt returns again, bound to its context', async () => {
    const { keyMetadata: { keyId } } = await kms.createKey({});
    const ctx = { purpose: 'disk', 'k 2': 'v+/=' };
    const g = await kms.generateDataKey({ KeyId: keyId, EncryptionContext: ctx });
    assert.equal(Buffer.from(g.plaintext, 'base64').length, 32);
    assert.equal(g.keyId, keyId);
    assert.match(g.keyVersionId, /^[0-9a-f-]{36}$/);
    const d = await kms.decrypt({ CiphertextBlob: g.ciphertextBlob, EncryptionContext: ctx });
    assert.equal(d.plaintext, g.plaintext);
    await rejects(() => kms.decrypt({ CiphertextBlob: g.ciphertextBlob }), 'InvalidParameter', 400);
    await rejects(() => kms.decrypt({ CiphertextBlob: g.ciphertextBlob,
      EncryptionContext: { purpose: 'other' } }), 'InvalidParameter', 400);
  });

  test('GenerateDataKey sizes: KeySpec and NumberOfBytes', async () => {
    const { keyMetadata: { keyId } } = await kms.createKey({});
    const a = await kms.generateDataKey({ KeyId: keyId, KeySpec: 'AES_128' });
    assert.equal(Buffer.from(a.plaintext, 'base64').length, 16);
    const b = await kms.generateDataKey({ KeyId: keyId, NumberOfBytes: 64 });
    assert.equal(Buffer.from(b.plaintext, 'base64').length, 64);
    await rejects(() => kms.generateDataKey({ KeyId: keyId, NumberOfBytes: 1025 }), 'InvalidParameter', 400);
    await rejects(() => kms.generateDataKey({ KeyId: keyId, KeySpec: 'AES_512' }), 'InvalidParameter', 400);
  });

  test('GenerateDataKeyWithoutPlaintext gives only the ciphertext', async () => {
    const { keyMetadata: { keyId } } = await kms.createKey({});
    const g = await kms.generateDataKeyWithoutPlaintext({ KeyId: keyId });
    assert.equal(g.plaintext, undefined);
    assert.ok(g.ciphertextBlob);
    const d = await kms.decrypt({ CiphertextBlob: g.ciphertextBlob });
    assert.equal(Buffer.from(d.plaintext, 'base64').length, 32);
  });

  test('Encrypt and Decrypt return the caller string unchanged', async () => {
    const { keyMetadata: { keyId } } = await kms.createKey({});
    const e = await kms.encrypt({ KeyId: keyId, Plaintext: 'aGVsbG8gd29ybGQ=' });
    const d = await kms.decrypt({ CiphertextBlob: e.ciphertextBlob });
    assert.equal(d.plaintext, 'aGVsbG8gd29ybGQ=');
    assert.equal(d.keyId, keyId);
    await rejects(() => kms.decrypt({ CiphertextBlob: '!!notbase64' }), 'InvalidParameter', 400);
    const tampered = Buffer.from(e.ciphertextBlob, 'base64');
    tampered[tampered.length - 1] ^= 1;
    await rejects(() => kms.decrypt({ CiphertextBlob: tampered.toString('base64') }), 'InvalidParameter', 400);
    await rejects(() => kms.encrypt({ KeyId: keyId, Plaintext: 'x'.repeat(6145) }), 'InvalidParameter', 400);
    await rejects(() => kms.encrypt({ KeyId: keyId }), 'MissingParameter', 400);
  });

  test('ReEncrypt (V3 through openapi-client) moves a blob to another key and context', async () => {
    const { keyMetadata: a } = await kms.createKey({});
    const { keyMetadata: b } = await kms.createKey({});
    const g = await kms.generateDataKey({ KeyId: a.keyId, EncryptionContext: { d: '1' } });
    const r = await v3('ReEncrypt', { CiphertextBlob: g.ciphertextBlob, DestinationKeyId: b.keyId,
      SourceEncryptionContext: '{"d":"1"}', DestinationEncryptionContext: '{"d":"2"}' });
    assert.equal(r.KeyId, b.keyId);
    assert.ok(r.KeyVersionId);
    const d = await kms.decrypt({ CiphertextBlob: r.CiphertextBlob, EncryptionContext: { d: '2' } });
    assert.equal(d.plaintext, g.plaintext);
    assert.equal(d.keyId, b.keyId);
    await assert.rejects(() => v3('ReEncrypt', { CiphertextBlob: g.ciphertextBlob,
      DestinationKeyId: b.keyId }), (e) => e.code === 'InvalidParameter' && e.statusCode === 400);
    await kms.disableKey({ KeyId: b.keyId });
    await assert.rejects(() => v3('ReEncrypt', { CiphertextBlob: g.ciphertextBlob,
      DestinationKeyId: b.keyId, SourceEncryptionContext: '{"d":"1"}' }),
    (e) => e.code === 'Rejected.Disabled' && e.statusCode === 409);
  });

  test('V3 form bodies (chunked) are signed and served too', async () => {
    const { keyMetadata: { keyId } } = await kms.createKey({});
    const e = await v3('Encrypt', null, { body: { KeyId: keyId, Plaintext: 'Zm9ybQ==',
      EncryptionContext: '{"via":"form"}' } });
    assert.equal(e.KeyId, keyId);
    const d = await kms.decrypt({ CiphertextBlob: e.CiphertextBlob, EncryptionContext: { via: 'form' } });
    assert.equal(d.plaintext, 'Zm9ybQ==');
  });
});

describe('bring your own key', () => {
  test('GetParametersForImport, ImportKeyMaterial, DeleteKeyMaterial', async () => {
    const { keyMetadata: m } = await kms.createKey({ Origin: 'EXTERNAL' });
    assert.equal(m.keyState, 'PendingImport');
    await rejects(() => kms.encrypt({ KeyId: m.keyId, Plaintext: 'eA==' }), 'Rejected.PendingImport', 409);
    const p = await kms.getParametersForImport({ KeyId: m.keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
      WrappingKeySpec: 'RSA_2048' });
    assert.equal(p.keyId, m.keyId);
    assert.match(p.tokenExpireTime, /Z$/);
    const material = randomBytes(32);
    const pub = { key: Buffer.from(p.publicKey, 'base64'), format: 'der', type: 'spki',
      padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' };
    const wrapped = publicEncrypt(pub, material).toString('base64');
    await rejects(() => kms.importKeyMaterial({ KeyId: m.keyId, EncryptedKeyMaterial: wrapped,
      ImportToken: 'not-a-token', KeyMaterialExpireUnix: 0 }), 'InvalidImportToken', 400);
    await kms.importKeyMaterial({ KeyId: m.keyId, EncryptedKeyMaterial: wrapped,
      ImportToken: p.importToken, KeyMaterialExpireUnix: 0 });
    assert.equal((await kms.describeKey({ KeyId: m.keyId })).keyMetadata.keyState, 'Enabled');
    const e = await kms.encrypt({ KeyId: m.keyId, Plaintext: 'Ynlvaw==' });
    await kms.deleteKeyMaterial({ KeyId: m.keyId });
    assert.equal((await kms.describeKey({ KeyId: m.keyId })).keyMetadata.keyState, 'PendingImport');
    await rejects(() => kms.decrypt({ CiphertextBlob: e.ciphertextBlob }), 'Rejected.PendingImport', 409);
    const { keyMetadata: native } = await kms.createKey({});
    await rejects(() => kms.getParametersForImport({ KeyId: native.keyId,
      WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }), 'Unsupported.Origin', 400);
    await rejects(() => kms.deleteKeyMaterial({ KeyId: native.keyId }), 'Unsupported.Origin', 400);
  });
});

describe('accounts', () => {
  test('no account can see or use another account\'s keys, aliases or blobs', async () => {
    const other = kmsClient(srv.createAccount('tenant-b'));
    const { keyMetadata: mine } = await kms.createKey({ Description: 'tenant a' });
    await kms.createAlias({ AliasName: 'alias/shared-name', KeyId: mine.keyId });
    const g = await kms.generateDataKey({ KeyId: mine.keyId });
    await rejects(() => other.describeKey({ KeyId: mine.keyId }), 'Forbidden.KeyNotFound', 404);
    await rejects(() => other.describeKey({ KeyId: mine.arn }), 'Forbidden.KeyNotFound', 404);
    await rejects(() => other.describeKey({ KeyId: 'alias/shared-name' }), 'Forbidden.AliasNotFound', 404);
    await rejects(() => other.encrypt({ KeyId: mine.keyId, Plaintext: 'eA==' }), 'Forbidden.KeyNotFound', 404);
    await rejects(() => other.decrypt({ CiphertextBlob: g.ciphertextBlob }), 'Forbidden.KeyNotFound', 404);
    await rejects(() => other.disableKey({ KeyId: mine.keyId }), 'Forbidden.KeyNotFound', 404);
    const theirs = await other.listKeys({ PageSize: 100 });
    assert.equal(theirs.totalCount, 0);
    assert.deepEqual(theirs.keys.key ?? [], []);
    // the same alias name is free in another account
    const { keyMetadata: b } = await other.createKey({});
    await other.createAlias({ AliasName: 'alias/shared-name', KeyId: b.keyId });
    assert.equal((await other.describeKey({ KeyId: 'alias/shared-name' })).keyMetadata.keyId, b.keyId);
    assert.equal((await kms.describeKey({ KeyId: 'alias/shared-name' })).keyMetadata.keyId, mine.keyId);
    assert.ok(!(await kms.listKeys({ PageSize: 100 })).keys.key.some((k) => k.keyId === b.keyId));
  });

  test('requests signed with a wrong secret or an unknown AccessKeyId are refused', async () => {
    const bad = kmsClient({ ...srv, accessKeySecret: 'wrong-secret-wrong-secret-xxxx' });
    await rejects(() => bad.listKeys({}), 'SignatureDoesNotMatch', 400);
    const unknown = kmsClient({ ...srv, accessKeyId: 'LTAIunknownunknownunkn' });
    await rejects(() => unknown.listKeys({}), 'InvalidAccessKeyId.NotFound', 404);
  });
});

describe('quota', () => {
  test('over the CreateKey quota the SDK gets 429 Rejected.Throttling', async () => {
    const s = await startServer(['--kms-quota-create', '2']);
    try {
      const c = kmsClient(s);
      const results = await Promise.allSettled(Array.from({ length: 12 }, () => c.createKey({})));
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      const throttled = results.filter((r) => r.status === 'rejected'
        && r.reason.data.Code === 'Rejected.Throttling' && r.reason.data.HttpStatus === 429).length;
      assert.ok(ok >= 1, 'some calls within the quota succeed');
      assert.ok(throttled >= 1, 'calls over the quota are throttled');
      assert.equal(ok + throttled, 12);
    } finally {
      await s.stop();
    }
  });
});

describe('pop-core (v1, parameters in the query for GET, in a form body for POST)', () => {
  function pop() {
    return new PopCore({ endpoint: `http://${srv.endpoint}`, apiVersion: '2016-01-20',
      accessKeyId: srv.accessKeyId, accessKeySecret: srv.accessKeySecret, opts: { timeout: TIMEOUTS.readTimeout } });
  }

  test('GET and POST calls succeed and carry no Code', async () => {
    const c = pop();
    const r = await c.request('DescribeRegions', {});
    assert.deepEqual(r.Regions.Region.map((x) => x.RegionId), ['cn-hangzhou']);
    assert.equal(r.Code, undefined);
    const k = await c.request('CreateKey', { Description: 'pop' }, { method: 'POST' });
    assert.equal(k.KeyMetadata.Description, 'pop');
    const e = await c.request('Encrypt', { KeyId: k.KeyMetadata.KeyId, Plaintext: 'cG9w',
      EncryptionContext: '{"via":"pop"}' }, { method: 'POST' });
    const d = await c.request('Decrypt', { CiphertextBlob: e.CiphertextBlob,
      EncryptionContext: '{"via":"pop"}' });
    assert.equal(d.Plaintext, 'cG9w');
  });

  test('errors reach pop-core through the body\'s Code', async () => {
    const c = pop();
    await assert.rejects(() => c.request('DescribeKey', { KeyId: 'key-aaaaaaaaaaaaaaaaaaaa' },
      { method: 'POST' }), (e) => e.code === 'Forbidden.KeyNotFound' && e.data.HttpStatus === 404);
    await assert.rejects(() => c.request('DescribeKey', {}),
      (e) => e.code === 'MissingParameter');
  });
});

describe('service', () => {
  test('DescribeRegions', async () => {
    const r = await kms.describeRegions({});
    assert.deepEqual(r.regions.region.map((x) => x.regionId), ['cn-hangzhou']);
  });
});
