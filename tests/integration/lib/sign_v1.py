#!/usr/bin/env python3
"""sign_v1.py ENDPOINT AKID ACTION VERSION NONCE [TIMESTAMP]: prints the URL
of an RPC v1 request signed as the official SDKs sign it (HMAC-SHA1,
alibaba-api.md 3.3), for a POST with an empty body.  The secret comes from
the environment (SD_SECRET), never from argv.  TIMESTAMP defaults to now."""
import base64
import hashlib
import hmac
import os
import sys
import time
import urllib.parse


def enc(s):
    return urllib.parse.quote(s, safe="-_.~")


def main():
    endpoint, akid, action, version, nonce = sys.argv[1:6]
    ts = sys.argv[6] if len(sys.argv) > 6 else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    params = {
        "AccessKeyId": akid,
        "Action": action,
        "Format": "JSON",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": nonce,
        "SignatureVersion": "1.0",
        "Timestamp": ts,
        "Version": version,
    }
    canon = "&".join(enc(k) + "=" + enc(v) for k, v in sorted(params.items()))
    sts = "POST&%2F&" + enc(canon)
    key = (os.environ["SD_SECRET"] + "&").encode()
    sig = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha1).digest()).decode()
    print("http://%s/?%s&Signature=%s" % (endpoint, canon, enc(sig)))


main()
