# Regenerates boto3_sigv2.json: presigned URLs that boto3 signs with SigV2
# (its default for S3 in us-east-1), at a fixed time, for sigv2_test.go.
# Run: python3 gen_boto3_sigv2.py > boto3_sigv2.json
import json
from unittest import mock

import boto3
from botocore.config import Config

NOW = 1774958400  # 2026-03-31T12:00:00Z

def client(**cfg):
    kw = {}
    if "token" in cfg:
        kw["aws_session_token"] = cfg.pop("token")
    return boto3.client(
        "s3", region_name="us-east-1",
        endpoint_url=cfg.pop("endpoint", "http://127.0.0.1:9000"),
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        config=Config(**cfg), **kw)

cases = []
with mock.patch("time.time", return_value=NOW):
    c = client()
    cases.append({"name": "get", "method": "GET",
                  "url": c.generate_presigned_url("get_object", Params={"Bucket": "bucket1", "Key": "k"}, ExpiresIn=3600)})
    cases.append({"name": "get special key", "method": "GET",
                  "url": c.generate_presigned_url("get_object", Params={"Bucket": "bucket1", "Key": "dir/a b+c~d%e&f=g.txt"}, ExpiresIn=60)})
    cases.append({"name": "get response override", "method": "GET",
                  "url": c.generate_presigned_url("get_object", Params={"Bucket": "bucket1", "Key": "k", "ResponseContentDisposition": "attachment; filename=\"x y.txt\"", "ResponseContentType": "text/plain"}, ExpiresIn=600)})
    cases.append({"name": "put", "method": "PUT",
                  "url": c.generate_presigned_url("put_object", Params={"Bucket": "bucket1", "Key": "up"}, ExpiresIn=600)})
    cases.append({"name": "head", "method": "HEAD",
                  "url": c.generate_presigned_url("head_object", Params={"Bucket": "bucket1", "Key": "k"}, ExpiresIn=600)})
    cases.append({"name": "session token", "method": "GET", "token": "TOKEN/abc+def=",
                  "url": client(token="TOKEN/abc+def=").generate_presigned_url("get_object", Params={"Bucket": "bucket1", "Key": "k"}, ExpiresIn=600)})
    v = client(endpoint="http://localhost:9000", s3={"addressing_style": "virtual"})
    cases.append({"name": "virtual hosted", "method": "GET", "host_bucket": "bucket1",
                  "url": v.generate_presigned_url("get_object", Params={"Bucket": "bucket1", "Key": "dir/k"}, ExpiresIn=600)})
print(json.dumps({"now": NOW, "access_key": "AKIDEXAMPLE",
                  "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "cases": cases}, indent=1))
