/* iam_vectors.h: tests/vectors/iam_signature_vectors.json as C data
 * (the captures of shared/research/alibaba-sdk-probe, research/alibaba-api.md
 * §9: V1-A, V1-B, V3-A, V3-B, V3-C, V1-C, Official-V1, Official-V3).
 * Generated once from the JSON; header names lower-cased as the HTTP layer
 * delivers them; irrelevant headers kept. */
#ifndef IAM_VECTORS_H
#define IAM_VECTORS_H

#include <stddef.h>

#define IAMV_MAX_HEADERS 16

typedef struct iamv {
    const char *name;
    const char *secret;
    const char *method;
    const char *query; /* after the '?' */
    const char *headers[IAMV_MAX_HEADERS][2];
    const char *body;
    const char *string_to_sign;
    const char *signature;
} iamv;

static const iamv iam_vectors[] = {
    {"sdk-kms20160120-CreateKey-rpcv1",
     "testsecret",
     "POST",
     "Action=CreateKey&Format=json&Timestamp=2026-11-22T10%3A27%3A10Z&Version=2016-01-20&"
     "SignatureNonce=f816c3d9da1bbb7f5316d12ea47e9106&Description=probe%20key%20(test)%20*!&"
     "KeyUsage=ENCRYPT%2FDECRYPT&Origin=Aliyun_KMS&ProtectionLevel=SOFTWARE&KeySpec=Aliyun_AES_256&"
     "SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testid&Signature="
     "tucHOoiQ8nkXcbSD79aHY5nySPc%3D",
     {{"x-acs-version", "2016-01-20"},
      {"x-acs-action", "CreateKey"},
      {"host", "127.0.0.1:18080"},
      {"user-agent", "AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2"},
      {"connection", "keep-alive"},
      {"content-length", "0"}},
     "",
     "POST&%2F&AccessKeyId%3Dtestid%26Action%3DCreateKey%26Description%3Dprobe%2520key%2520%"
     "2528test%2529%2520%252A%2521%26Format%3Djson%26KeySpec%3DAliyun_AES_256%26KeyUsage%3DENCRYPT%"
     "252FDECRYPT%26Origin%3DAliyun_KMS%26ProtectionLevel%3DSOFTWARE%26SignatureMethod%3DHMAC-SHA1%"
     "26SignatureNonce%3Df816c3d9da1bbb7f5316d12ea47e9106%26SignatureVersion%3D1.0%26Timestamp%"
     "3D2026-11-22T10%253A27%253A10Z%26Version%3D2016-01-20",
     "tucHOoiQ8nkXcbSD79aHY5nySPc="},
    {"sdk-kms20160120-Encrypt-rpcv1",
     "testsecret",
     "POST",
     "Action=Encrypt&Format=json&Timestamp=2026-11-22T10%3A27%3A10Z&Version=2016-01-20&"
     "SignatureNonce=51721f16324a79657cb9d1ef8a3df014&KeyId=alias%2Fprobe&Plaintext="
     "aGVsbG8gd29ybGQ%3D&EncryptionContext.purpose=disk&EncryptionContext.k%202=v%2B%2F%3D&"
     "SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testid&Signature=fKG4UY7%"
     "2FLmy7LnlFXBRB23wwyO4%3D",
     {{"x-acs-version", "2016-01-20"},
      {"x-acs-action", "Encrypt"},
      {"host", "127.0.0.1:18080"},
      {"user-agent", "AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2"},
      {"connection", "keep-alive"},
      {"content-length", "0"}},
     "",
     "POST&%2F&AccessKeyId%3Dtestid%26Action%3DEncrypt%26EncryptionContext.k%25202%3Dv%252B%252F%"
     "253D%26EncryptionContext.purpose%3Ddisk%26Format%3Djson%26KeyId%3Dalias%252Fprobe%"
     "26Plaintext%3DaGVsbG8gd29ybGQ%253D%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%"
     "3D51721f16324a79657cb9d1ef8a3df014%26SignatureVersion%3D1.0%26Timestamp%3D2026-11-22T10%"
     "253A27%253A10Z%26Version%3D2016-01-20",
     "fKG4UY7/Lmy7LnlFXBRB23wwyO4="},
    {"sdk-ecs20140526-CreateDisk-v3",
     "testsecret",
     "POST",
     "Description=enc%20(test)%20*!~%27%E4%B8%AD%2B%2F%3D&DiskCategory=cloud_essd&DiskName=probe%"
     "20disk&Encrypted=true&KMSKeyId=key-probe-0001&RegionId=cn-hangzhou&Size=40&Tag.1.Key=env&Tag."
     "1.Value=dev%20test&ZoneId=cn-hangzhou-i",
     {{"host", "127.0.0.1:18080"},
      {"x-acs-version", "2014-05-26"},
      {"x-acs-action", "CreateDisk"},
      {"user-agent", "AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2"},
      {"x-acs-date", "2026-11-22T10:27:10Z"},
      {"x-acs-signature-nonce", "6e1ee035d960c98b17ff13ec312348c6b8e23dc75548520248233dc6b10bef51"},
      {"accept", "application/json"},
      {"x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"x-acs-credentials-provider", "static_ak"},
      {"authorization",
       "ACS3-HMAC-SHA256 "
       "Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-credentials-"
       "provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="
       "7faa5d1d385d1080ecfac81e83b5515a0081d167e3917df616967deeef7a29ab"},
      {"connection", "keep-alive"},
      {"content-length", "0"}},
     "",
     "ACS3-HMAC-SHA256\nd7e60a540e818a6256bf49255cdb22fd9ef6b54e0fccfceefb6c5a2fec9699e2",
     "7faa5d1d385d1080ecfac81e83b5515a0081d167e3917df616967deeef7a29ab"},
    {"sdk-ecs20140526-RunInstances-v3",
     "testsecret",
     "POST",
     "Amount=1&DataDisk.1.Category=cloud_essd&DataDisk.1.Encrypted=true&DataDisk.1.KMSKeyId=key-"
     "probe-0001&DataDisk.1.Size=100&DataDisk.2.Category=cloud_essd&DataDisk.2.Encrypted=false&"
     "DataDisk.2.Size=200&ImageId=img-probe&InstanceType=ecs.g7.large&RegionId=cn-hangzhou&Tag.1."
     "Key=team&Tag.1.Value=storage&SystemDisk.Category=cloud_essd&SystemDisk.Size=40&SystemDisk."
     "Encrypted=true&SystemDisk.KMSKeyId=key-probe-0001",
     {{"host", "127.0.0.1:18080"},
      {"x-acs-version", "2014-05-26"},
      {"x-acs-action", "RunInstances"},
      {"user-agent", "AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/2"},
      {"x-acs-date", "2026-11-22T10:27:10Z"},
      {"x-acs-signature-nonce", "c118f4c2564004bcbe526cf85566da94575f8b330a2c3c067b4a1d2fae718903"},
      {"accept", "application/json"},
      {"x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"x-acs-credentials-provider", "static_ak"},
      {"authorization",
       "ACS3-HMAC-SHA256 "
       "Credential=testid,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-credentials-"
       "provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="
       "8097e1690745f96456acb5e70d50ffc3186be34ac3c15b40f8664bd84b093c06"},
      {"connection", "keep-alive"},
      {"content-length", "0"}},
     "",
     "ACS3-HMAC-SHA256\nb79918355cd37eb2b1ed80eec4076da380c4e220e45015fbc2785e1fb3d0db74",
     "8097e1690745f96456acb5e70d50ffc3186be34ac3c15b40f8664bd84b093c06"},
    {"sdk-openapi-client-Encrypt-v3-formbody",
     "testsecret",
     "POST",
     "KeyId=key-probe-0001",
     {{"host", "127.0.0.1:18080"},
      {"x-acs-version", "2016-01-20"},
      {"x-acs-action", "Encrypt"},
      {"user-agent", "AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.0.1 TeaDSL/1"},
      {"x-acs-date", "2026-11-22T10:27:10Z"},
      {"x-acs-signature-nonce", "56b266444ecc049fcd49b085864dec99"},
      {"accept", "application/json"},
      {"content-type", "application/x-www-form-urlencoded"},
      {"x-acs-content-sha256", "499eba686ce28d99d4de86168b7a787bb09c0464767457b3caf2594ee41d60f1"},
      {"x-acs-credentials-provider", "static_ak"},
      {"authorization",
       "ACS3-HMAC-SHA256 "
       "Credential=testid,SignedHeaders=content-type;host;x-acs-action;x-acs-content-sha256;x-acs-"
       "credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="
       "a23b080c2cf6bd7193b277cdd809b0def71b3e032e6c3d859628fa2505f36ed3"},
      {"connection", "keep-alive"},
      {"transfer-encoding", "chunked"}},
     "Plaintext=aGVsbG8gd29ybGQ%3D&EncryptionContext=%7B%22disk%22%3A%22d-1%20x%22%7D",
     "ACS3-HMAC-SHA256\na4485305b641337b2b2cc1cb9429558978d219e5f1e80df6d297a7985bdedc0c",
     "a23b080c2cf6bd7193b277cdd809b0def71b3e032e6c3d859628fa2505f36ed3"},
    {"sdk-pop-core-CreateDisk-rpcv1-formbody",
     "testsecret",
     "POST",
     "",
     {{"x-sdk-client", "Node.js(v20.20.2), @alicloud/pop-core: 1.8.0"},
      {"user-agent", "AlibabaCloud (linux; x64) Node.js/v20.20.2 Core/1.8.0"},
      {"x-acs-action", "CreateDisk"},
      {"x-acs-version", "2014-05-26"},
      {"content-type", "application/x-www-form-urlencoded"},
      {"host", "127.0.0.1:18080"},
      {"connection", "keep-alive"},
      {"content-length", "336"}},
     "AccessKeyId=testid&Action=CreateDisk&Encrypted=true&Format=JSON&KMSKeyId=key-probe-0001&"
     "RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureNonce="
     "265b0e123018f06f7af9fc2e29fa3d5f&SignatureVersion=1.0&Size=40&Tag.1.Key=env&Tag.1.Value=dev&"
     "Timestamp=2026-11-22T10%3A27%3A10Z&Version=2014-05-26&Signature=MPwgt5yxrPPtFG2sV6apbGSju9s%"
     "3D",
     "POST&%2F&AccessKeyId%3Dtestid%26Action%3DCreateDisk%26Encrypted%3Dtrue%26Format%3DJSON%"
     "26KMSKeyId%3Dkey-probe-0001%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%"
     "26SignatureNonce%3D265b0e123018f06f7af9fc2e29fa3d5f%26SignatureVersion%3D1.0%26Size%3D40%"
     "26Tag.1.Key%3Denv%26Tag.1.Value%3Ddev%26Timestamp%3D2026-11-22T10%253A27%253A10Z%26Version%"
     "3D2014-05-26",
     "MPwgt5yxrPPtFG2sV6apbGSju9s="},
    {"official-v1-DescribeRegions",
     "testsecret",
     "GET",
     "Timestamp=2016-02-23T12%3A46%3A24Z&Format=XML&AccessKeyId=testid&Action=DescribeRegions&"
     "SignatureMethod=HMAC-SHA1&SignatureNonce=3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf&Version=2014-"
     "05-26&SignatureVersion=1.0&Signature=OLeaidS1JvxuMvnyHOwuJ%2BuX5qY%3D",
     {{"host", "ecs.aliyuncs.com"}},
     "",
     "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%"
     "3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%"
     "26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26",
     "OLeaidS1JvxuMvnyHOwuJ+uX5qY="},
    {"official-v3-RunInstances",
     "YourAccessKeySecret",
     "POST",
     "ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai",
     {{"host", "ecs.cn-shanghai.aliyuncs.com"},
      {"x-acs-action", "RunInstances"},
      {"x-acs-version", "2014-05-26"},
      {"x-acs-date", "2023-10-26T10:22:32Z"},
      {"x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"},
      {"x-acs-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"authorization", "ACS3-HMAC-SHA256 "
                        "Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-"
                        "sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="
                        "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"}},
     "",
     "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259",
     "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"},
};

#define IAMV_COUNT (sizeof iam_vectors / sizeof iam_vectors[0])

#endif
