#!/usr/bin/env python3
"""sign_v1.py ENDPOINT AKID ACTION VERSION NONCE...: prints, for each NONCE,
the URL of an RPC v1 request signed now as the official SDKs sign it
(HMAC-SHA1, alibaba-api.md 3.3), for a POST with an empty body.  The secret
comes from the environment (SD_SECRET), never from argv."""
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
    endpoint, akid, action, version = sys.argv[1:5]
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    key = (os.environ["SD_SECRET"] + "&").encode()
    for nonce in sys.argv[5:]:
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
        sig = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha1).digest()).decode()
        print("http://%s/?%s&Signature=%s" % (endpoint, canon, enc(sig)))


main()
