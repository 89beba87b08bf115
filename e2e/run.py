#!/usr/bin/env python3
"""End-to-end suite: a real sluice binary driven by the installed AWS CLI and boto3.

Usage: python3 e2e/run.py path/to/sluice

Each test class starts its own server on 127.0.0.1:0 with a fresh data
directory, reads the address and credentials from the export line the server
prints, and talks to it with nothing but the endpoint URL and the credentials,
as a user would. The AWS CLI costs about a second a call (Python start-up), so
only the paths users type go through it; bulk checks run in this process with
boto3.
"""

import hashlib
import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request
from xml.etree import ElementTree

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

SLUICE = None  # path to the binary, from argv


class Sluice:
    """A sluice process on 127.0.0.1:0 with its own data directory."""

    def __init__(self, data_dir, env=None):
        self.data_dir = data_dir
        self.extra_env = env or {}
        self.proc = None
        self.creds = {}

    def start(self):
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("SLUICE_") or k.startswith("AWS_"):
                del env[k]
        env.update(self.extra_env)
        with open(os.path.join(self.data_dir, "..", "server.log"), "ab") as log:
            self.proc = subprocess.Popen(
                [SLUICE, "serve", "--addr", "127.0.0.1:0", "--data", self.data_dir],
                stdout=subprocess.PIPE, stderr=log, env=env, text=True)
        # The export line is printed once the listener is bound.
        for _ in range(10):
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("export "):
                self.creds = dict(kv.split("=", 1) for kv in line.split()[1:])
                return self
        self.stop()
        raise RuntimeError("sluice did not print its export line")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
            return self.proc.returncode
        return None

    @property
    def endpoint(self):
        return self.creds["AWS_ENDPOINT_URL"]

    def client(self, service="s3", **config):
        return boto3.session.Session(
            aws_access_key_id=self.creds["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.creds["AWS_SECRET_ACCESS_KEY"],
            region_name=self.creds["AWS_DEFAULT_REGION"],
        ).client(service, endpoint_url=self.endpoint, config=Config(**config) if config else None)

    def cli_env(self, home):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.creds)
        # Nothing from the user's own AWS configuration leaks in.
        env["AWS_CONFIG_FILE"] = os.path.join(home, "config")
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(home, "credentials")
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        return env


class ServerTest(unittest.TestCase):
    """Base: one server per test class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        data = os.path.join(cls.tmp.name, "data")
        os.makedirs(data)
        cls.server = Sluice(data).start()
        cls.s3 = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.tmp.cleanup()
        assert code == 0, f"sluice exited with {code} on SIGTERM"

    def aws(self, *args, check=True):
        res = subprocess.run(["aws", *args], env=self.server.cli_env(self.tmp.name),
                             capture_output=True, text=True, timeout=60)
        if check and res.returncode != 0:
            self.fail(f"aws {' '.join(args)} exited {res.returncode}: {res.stderr}")
        return res

    def error_code(self, fn, *args, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        return cm.exception.response["Error"]["Code"]


class CLIQuickStart(ServerTest):
    """The README's quick start, typed as a user types it."""

    def test_mb_cp_ls_rm(self):
        src = os.path.join(self.tmp.name, "cat.jpg")
        body = os.urandom(300_000)
        with open(src, "wb") as f:
            f.write(body)
        self.aws("s3", "mb", "s3://photos")
        self.aws("s3", "cp", src, "s3://photos/")
        ls = self.aws("s3", "ls", "s3://photos").stdout
        self.assertRegex(ls, r"\s300000 cat\.jpg\n")
        out = os.path.join(self.tmp.name, "back.jpg")
        self.aws("s3", "cp", "s3://photos/cat.jpg", out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), body)
        self.aws("s3", "rm", "s3://photos/cat.jpg")
        self.assertEqual(self.aws("s3", "ls", "s3://photos").stdout, "")
        self.aws("s3", "rb", "s3://photos")
        self.assertNotIn("photos", self.aws("s3", "ls").stdout)

    def test_cli_reports_aws_errors(self):
        res = self.aws("s3api", "head-object", "--bucket", "nosuchbucket-cli", "--key", "k", check=False)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("404", res.stderr)
        res = self.aws("s3", "mb", "s3://Bad_Name", check=False)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("InvalidBucketName", res.stderr)


class Boto3Objects(ServerTest):
    def setUp(self):
        self.bucket = "b-" + self._testMethodName.replace("_", "-")[:40]
        self.s3.create_bucket(Bucket=self.bucket)

    def test_put_get_head_with_metadata(self):
        put = self.s3.put_object(Bucket=self.bucket, Key="a/b.txt", Body=b"hello world",
                                 ContentType="text/plain", Metadata={"Color": "blue"},
                                 CacheControl="max-age=60", ContentDisposition="inline")
        self.assertEqual(put["ETag"], '"5eb63bbbe01eeed093cb22bb8f5acdc3"')
        # botocore sends a CRC32 by default; Sluice verifies and echoes it.
        self.assertIn("ChecksumCRC32", put)
        got = self.s3.get_object(Bucket=self.bucket, Key="a/b.txt", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), b"hello world")
        self.assertEqual(got["ContentType"], "text/plain")
        self.assertEqual(got["Metadata"], {"color": "blue"})
        self.assertEqual(got["CacheControl"], "max-age=60")
        self.assertEqual(got["ContentDisposition"], "inline")
        self.assertEqual(got["ChecksumCRC32"], put["ChecksumCRC32"])
        head = self.s3.head_object(Bucket=self.bucket, Key="a/b.txt")
        self.assertEqual(head["ContentLength"], 11)
        self.assertEqual(head["ETag"], put["ETag"])
        self.assertNotIn("ChecksumCRC32", head)  # only with x-amz-checksum-mode: ENABLED

    def test_default_content_type_and_range(self):
        self.s3.put_object(Bucket=self.bucket, Key="r", Body=b"0123456789")
        got = self.s3.get_object(Bucket=self.bucket, Key="r", Range="bytes=2-5")
        self.assertEqual(got["Body"].read(), b"2345")
        self.assertEqual(got["ContentRange"], "bytes 2-5/10")
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="r")["ContentType"], "binary/octet-stream")

    def test_special_keys_round_trip_and_list(self):
        keys = ["sp ace", "plus+sign", "per%cent", "ünïcødé/ключ", "tilde~", "q?mark", "a//double", "trailing/"]
        for k in keys:
            self.s3.put_object(Bucket=self.bucket, Key=k, Body=k.encode())
        for k in keys:
            self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key=k)["Body"].read(), k.encode(), k)
        listed = [o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket)["Contents"]]
        self.assertEqual(listed, sorted(keys, key=lambda s: s.encode()))

    def test_paginated_listing_with_delimiter(self):
        want_keys, want_prefixes = [], set()
        for i in range(7):
            k = f"top-{i:02d}"
            self.s3.put_object(Bucket=self.bucket, Key=k, Body=b"x")
            want_keys.append(k)
        for d in range(4):
            for i in range(3):
                self.s3.put_object(Bucket=self.bucket, Key=f"dir-{d}/f{i}", Body=b"x")
            want_prefixes.add(f"dir-{d}/")
        keys, prefixes = [], []
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Delimiter="/", PaginationConfig={"PageSize": 3})
        for page in pages:
            self.assertLessEqual(page["KeyCount"], 3)
            keys += [o["Key"] for o in page.get("Contents", [])]
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        self.assertEqual(keys, want_keys)
        self.assertEqual(sorted(prefixes), sorted(want_prefixes))
        self.assertEqual(len(prefixes), len(set(prefixes)), "a common prefix repeated across pages")

        v1 = []
        for page in self.s3.get_paginator("list_objects").paginate(
                Bucket=self.bucket, Prefix="dir-1/", PaginationConfig={"PageSize": 2}):
            v1 += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(v1, ["dir-1/f0", "dir-1/f1", "dir-1/f2"])

    def test_errors(self):
        self.assertEqual(self.error_code(self.s3.get_object, Bucket=self.bucket, Key="missing"), "NoSuchKey")
        self.assertEqual(self.error_code(self.s3.get_object, Bucket="no-such-bucket-e2e", Key="k"), "NoSuchBucket")
        self.s3.put_object(Bucket=self.bucket, Key="k", Body=b"x")
        self.assertEqual(self.error_code(self.s3.delete_bucket, Bucket=self.bucket), "BucketNotEmpty")
        self.assertEqual(self.error_code(self.s3.put_object, Bucket=self.bucket, Key="x" * 1025, Body=b""),
                         "KeyTooLongError")
        # botocore retries BadDigest (a body damaged in transit may pass next
        # time), as it does against AWS: one attempt keeps the test quick.
        once = self.server.client(retries={"max_attempts": 1, "mode": "standard"})
        self.assertEqual(self.error_code(once.put_object, Bucket=self.bucket, Key="bad-md5", Body=b"abc",
                                         ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg=="), "BadDigest")
        with self.assertRaises(ClientError):
            self.s3.head_object(Bucket=self.bucket, Key="bad-md5")
        # Creating a bucket you own again is 200 in us-east-1, as on AWS.
        self.s3.create_bucket(Bucket=self.bucket)

    def test_wrong_credentials(self):
        bad = boto3.session.Session(aws_access_key_id=self.server.creds["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key="wrong" * 8, region_name="us-east-1"
                                    ).client("s3", endpoint_url=self.server.endpoint)
        self.assertEqual(self.error_code(bad.list_buckets), "SignatureDoesNotMatch")
        unknown = boto3.session.Session(aws_access_key_id="AKIAUNKNOWNUNKNOWN00", aws_secret_access_key="x" * 40,
                                        region_name="us-east-1").client("s3", endpoint_url=self.server.endpoint)
        self.assertEqual(self.error_code(unknown.list_buckets), "InvalidAccessKeyId")

    def test_presigned_sigv4_get(self):
        self.s3.put_object(Bucket=self.bucket, Key="shared.txt", Body=b"presigned")
        s3v4 = self.server.client(signature_version="s3v4")
        url = s3v4.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": "shared.txt"},
                                          ExpiresIn=60)
        self.assertIn("X-Amz-Signature=", url)
        with urllib.request.urlopen(url, timeout=10) as resp:
            self.assertEqual(resp.read(), b"presigned")

    def test_bucket_listing_and_location(self):
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertIn(self.bucket, names)
        self.assertIsNone(self.s3.get_bucket_location(Bucket=self.bucket)["LocationConstraint"])
        head = self.s3.head_bucket(Bucket=self.bucket)
        self.assertEqual(head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"], "us-east-1")
        self.s3.delete_bucket(Bucket=self.bucket)
        self.assertEqual(self.error_code(self.s3.head_bucket, Bucket=self.bucket), "404")


class SigV2AndChecksums(ServerTest):
    """What botocore does by default in us-east-1: SigV2 presigned URLs, and
    flexible checksums on every PUT."""

    bucket = "sigv2-and-checksums"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket=cls.bucket)
        cls.s3.put_object(Bucket=cls.bucket, Key="dir/shared file.txt", Body=b"shared by v2")

    def fetch(self, url):
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def test_cli_presign(self):
        url = self.aws("s3", "presign", f"s3://{self.bucket}/dir/shared file.txt").stdout.strip()
        self.assertIn("AWSAccessKeyId=", url)  # SigV2, the CLI's default here
        self.assertEqual(self.fetch(url), (200, b"shared by v2"))

    def test_boto3_presigned_sigv2(self):
        params = {"Bucket": self.bucket, "Key": "dir/shared file.txt"}
        url = self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=60)
        self.assertIn("Signature=", url)
        self.assertNotIn("X-Amz-Signature", url)
        self.assertEqual(self.fetch(url), (200, b"shared by v2"))
        status, body = self.fetch(self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=-5))
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        self.assertIn(b"Request has expired", body)
        status, body = self.fetch(url.replace("shared", "Shared"))
        self.assertEqual(status, 403)
        self.assertIn(b"SignatureDoesNotMatch", body)

    def test_checksum_calculation_modes(self):
        for mode in ("when_required", "when_supported"):
            s3 = self.server.client(request_checksum_calculation=mode, response_checksum_validation=mode)
            put = s3.put_object(Bucket=self.bucket, Key=f"ck-{mode}", Body=b"checksummed " + mode.encode())
            if mode == "when_supported":
                self.assertIn("ChecksumCRC32", put)
            got = s3.get_object(Bucket=self.bucket, Key=f"ck-{mode}", ChecksumMode="ENABLED")
            self.assertEqual(got["Body"].read(), b"checksummed " + mode.encode())
            sha = s3.put_object(Bucket=self.bucket, Key=f"sha-{mode}", Body=b"x" * 100000, ChecksumAlgorithm="SHA256")
            self.assertIn("ChecksumSHA256", sha)


class SQSQueues(ServerTest):
    """SQS on the same port: the quick start through the CLI, bulk through boto3."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sqs = cls.server.client("sqs")

    def sqs_cli(self, *args, check=True):
        # aws-cli 1.45 resolved SQS to https://queue.amazonaws.com/ despite
        # AWS_ENDPOINT_URL in this environment, so the endpoint is passed.
        return self.aws("sqs", *args, "--endpoint-url", self.server.endpoint, check=check)

    def test_cli_quick_start(self):
        import json
        url = json.loads(self.sqs_cli("create-queue", "--queue-name", "uploads").stdout)["QueueUrl"]
        self.assertEqual(url, self.server.endpoint + "/000000000000/uploads")
        sent = json.loads(self.sqs_cli("send-message", "--queue-url", url, "--message-body", "hi").stdout)
        self.assertEqual(sent["MD5OfMessageBody"], "49f68a5c8493ec2c0bf489821c21fc3b")
        got = json.loads(self.sqs_cli("receive-message", "--queue-url", url, "--wait-time-seconds", "20",
                                  "--attribute-names", "All").stdout)
        msg = got["Messages"][0]
        self.assertEqual((msg["MessageId"], msg["Body"]), (sent["MessageId"], "hi"))
        self.assertEqual(msg["Attributes"]["ApproximateReceiveCount"], "1")
        self.sqs_cli("delete-message", "--queue-url", url, "--receipt-handle", msg["ReceiptHandle"])
        res = self.sqs_cli("get-queue-url", "--queue-name", "nope", check=False)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("NonExistentQueue", res.stderr)

    def test_boto3_bulk(self):
        url = self.sqs.create_queue(QueueName="bulk", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
        for i in range(0, 100, 10):
            out = self.sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": f"m{j}", "MessageBody": f"body {j}",
                 "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(j)}}}
                for j in range(i, i + 10)])
            self.assertEqual(len(out["Successful"]), 10)
            self.assertNotIn("Failed", out) if "Failed" not in out else self.assertEqual(out["Failed"], [])
        seen = set()
        for _ in range(40):
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           MessageAttributeNames=["All"])
            msgs = got.get("Messages", [])
            if not msgs:
                break
            for m in msgs:
                self.assertNotIn(m["Body"], seen, "a message was handed out twice within its visibility window")
                self.assertEqual(m["MessageAttributes"]["n"]["StringValue"], m["Body"].split()[1])
                seen.add(m["Body"])
            self.sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(msgs)])
        self.assertEqual(len(seen), 100)
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["ApproximateNumberOfMessages"], "0")
        self.assertEqual(attrs["VisibilityTimeout"], "60")

    def test_boto3_errors(self):
        url = self.sqs.create_queue(QueueName="errs")["QueueUrl"]
        with self.assertRaises(self.sqs.exceptions.QueueDoesNotExist):
            self.sqs.get_queue_url(QueueName="absent")
        with self.assertRaises(self.sqs.exceptions.QueueNameExists):
            self.sqs.create_queue(QueueName="errs", Attributes={"DelaySeconds": "5"})
        with self.assertRaises(self.sqs.exceptions.ReceiptHandleIsInvalid):
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle="garbage")
        with self.assertRaises(self.sqs.exceptions.TooManyEntriesInBatchRequest):
            self.sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": "x"} for i in range(11)])
        self.assertEqual(self.error_code(self.sqs.send_message, QueueUrl=url, MessageBody="bad \x01"),
                         "InvalidMessageContents")
        self.sqs.purge_queue(QueueUrl=url)
        with self.assertRaises(self.sqs.exceptions.PurgeQueueInProgress):
            self.sqs.purge_queue(QueueUrl=url)


class Functions(ServerTest):
    """Issue 7's user story: a role, a Go function from a zip, invoke, logs;
    then Python (boto3 inside the function) and Node handlers, and bulk
    checks through boto3."""

    TRUST = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
             '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}')

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lam = cls.server.client("lambda")
        cls.iam = cls.server.client("iam")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        build = os.path.join(cls.tmp.name, "build")
        os.makedirs(build)
        env = dict(os.environ, CGO_ENABLED="0", GOOS="linux")
        subprocess.run(["go", "build", "-tags", "lambda.norpc", "-o", os.path.join(build, "bootstrap"),
                        "./internal/server/testdata/stsfn"], cwd=root, env=env, check=True, timeout=300)
        cls.go_zip = os.path.join(cls.tmp.name, "hello.zip")
        with open(os.path.join(build, "bootstrap"), "rb") as f:
            cls.zip_files(cls.go_zip, {"bootstrap": f.read()}, mode=0o755)
        cls.role_arn = cls.iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument=cls.TRUST)["Role"]["Arn"]

    @staticmethod
    def zip_files(path, files, mode=0o644):
        import zipfile
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in files.items():
                info = zipfile.ZipInfo(name)
                info.external_attr = (0o100000 | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)

    def python_function(self, name, src, **extra):
        """Creates python3.12 function name whose module name.py is src
        (handler name.handler) and returns its ARN."""
        path = os.path.join(self.tmp.name, name + ".zip")
        self.zip_files(path, {name + ".py": src})
        with open(path, "rb") as f:
            return self.lam.create_function(FunctionName=name, Runtime="python3.12", Handler=name + ".handler",
                                            Role=self.role_arn, Code={"ZipFile": f.read()}, Timeout=30,
                                            **extra)["FunctionArn"]

    def metrics(self):
        """The server's /_sluice/metrics text, read with HTTP Basic."""
        import base64
        creds = self.server.creds
        auth = base64.b64encode(f"{creds['AWS_ACCESS_KEY_ID']}:{creds['AWS_SECRET_ACCESS_KEY']}".encode()).decode()
        req = urllib.request.Request(self.server.endpoint + "/_sluice/metrics", headers={"Authorization": "Basic " + auth})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read().decode()

    def test_cli_user_story(self):
        import base64
        import json
        trust = os.path.join(self.tmp.name, "trust.json")
        with open(trust, "w") as f:
            f.write(self.TRUST)
        role = json.loads(self.aws("iam", "create-role", "--role-name", "hello",
                                   "--assume-role-policy-document", "file://" + trust).stdout)["Role"]
        self.assertEqual(role["Arn"], "arn:aws:iam::000000000000:role/hello")
        self.assertTrue(role["RoleId"].startswith("AROA"))
        fn = json.loads(self.aws("lambda", "create-function", "--function-name", "hello", "--runtime", "provided.al2023",
                                 "--handler", "bootstrap", "--zip-file", "fileb://" + self.go_zip,
                                 "--role", "arn:aws:iam::000000000000:role/hello").stdout)
        self.assertEqual((fn["State"], fn["LastUpdateStatus"]), ("Active", "Successful"))
        out = os.path.join(self.tmp.name, "out.json")
        # AWS CLI v1 sends --payload as is (no --cli-binary-format).
        res = json.loads(self.aws("lambda", "invoke", "--function-name", "hello", "--payload", '{"name":"x"}',
                                  "--log-type", "Tail", out).stdout)
        self.assertEqual(res["StatusCode"], 200)
        self.assertNotIn("FunctionError", res)
        with open(out) as f:
            self.assertEqual(json.load(f)["hello"], "x")
        self.assertIn("REPORT RequestId:", base64.b64decode(res["LogResult"]).decode())
        logs = subprocess.run([SLUICE, "logs", "hello"], env=self.server.cli_env(self.tmp.name),
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(logs.returncode, 0, logs.stderr)
        self.assertIn("START RequestId:", logs.stdout)
        self.assertIn("hello from x", logs.stdout)
        # --follow keeps printing until interrupted.
        follow = subprocess.Popen([SLUICE, "logs", "hello", "--follow"], env=self.server.cli_env(self.tmp.name),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            self.aws("lambda", "invoke", "--function-name", "hello", "--payload", '{"name":"followed"}', out)
            seen = ""
            for _ in range(200):
                line = follow.stdout.readline()
                if not line:
                    break
                seen += line
                if "hello from followed" in seen:
                    break
            self.assertIn("hello from followed", seen)
        finally:
            follow.send_signal(signal.SIGINT)
            follow.wait(timeout=10)
            follow.stdout.close()
            follow.stderr.close()
        res = self.aws("lambda", "get-function", "--function-name", "nope", check=False)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("ResourceNotFoundException", res.stderr)

    def test_cli_event_invocation(self):
        """aws lambda invoke --invocation-type Event: 202 at once, the
        invocation runs from the function's durable queue."""
        import json
        import threading
        self.lam.create_function(FunctionName="hello-async", Runtime="provided.al2023", Handler="bootstrap",
                                 Role=self.role_arn, Code={"ZipFile": open(self.go_zip, "rb").read()})
        follow = subprocess.Popen([SLUICE, "logs", "hello-async", "--follow"], env=self.server.cli_env(self.tmp.name),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # readline blocks: a timer ends the follower if the line never comes.
        timer = threading.Timer(60, follow.kill)
        timer.start()
        try:
            out = os.path.join(self.tmp.name, "async.json")
            res = json.loads(self.aws("lambda", "invoke", "--function-name", "hello-async", "--invocation-type", "Event",
                                      "--payload", '{"name":"queued"}', out).stdout)
            self.assertEqual(res["StatusCode"], 202)
            with open(out) as f:
                self.assertEqual(f.read(), "")
            seen = ""
            for _ in range(500):
                line = follow.stdout.readline()
                if not line:
                    break
                seen += line
                if "hello from queued" in seen:
                    break
            self.assertIn("hello from queued", seen)
        finally:
            timer.cancel()
            follow.kill()
            follow.wait(timeout=10)
            follow.stdout.close()
            follow.stderr.close()

    def test_python_handler_uses_boto3_inside(self):
        import json
        self.s3.create_bucket(Bucket="py-out")
        src = (
            "import boto3\n"
            "def handler(event, context):\n"
            "    boto3.client('s3').put_object(Bucket=event['bucket'], Key='py', Body=b'from python')\n"
            "    arn = boto3.client('sts').get_caller_identity()['Arn']\n"
            "    print('python saw', event['bucket'])\n"
            "    return {'fn': context.function_name, 'arn': arn,\n"
            "            'left': context.get_remaining_time_in_millis() > 0, 'mem': context.memory_limit_in_mb}\n")
        path = os.path.join(self.tmp.name, "py.zip")
        self.zip_files(path, {"app/main.py": src, "app/__init__.py": ""})
        with open(path, "rb") as f:
            self.lam.create_function(FunctionName="py", Runtime="python3.12", Handler="app.main.handler",
                                     Role=self.role_arn, Code={"ZipFile": f.read()}, Timeout=30)
        out = self.lam.invoke(FunctionName="py", Payload=json.dumps({"bucket": "py-out"}))
        body = json.loads(out["Payload"].read())
        self.assertNotIn("FunctionError", out, body)
        self.assertEqual(body["fn"], "py")
        self.assertEqual(body["arn"], "arn:aws:sts::000000000000:assumed-role/fn-role/py")
        self.assertTrue(body["left"])
        self.assertEqual(str(body["mem"]), "128")
        self.assertEqual(self.s3.get_object(Bucket="py-out", Key="py")["Body"].read(), b"from python")

    def test_node_handler(self):
        import json
        import shutil
        if not shutil.which("node"):
            self.skipTest("node is not installed")
        src = ("exports.handler = async (event, context) => "
               "({ n: event.n + 1, fn: context.functionName, left: context.getRemainingTimeInMillis() > 0 });\n")
        path = os.path.join(self.tmp.name, "node.zip")
        self.zip_files(path, {"index.js": src})
        with open(path, "rb") as f:
            self.lam.create_function(FunctionName="node", Runtime="nodejs20.x", Handler="index.handler",
                                     Role=self.role_arn, Code={"ZipFile": f.read()})
        out = self.lam.invoke(FunctionName="node", Payload=b'{"n": 41}')
        self.assertNotIn("FunctionError", out)
        self.assertEqual(json.loads(out["Payload"].read()), {"n": 42, "fn": "node", "left": True})

    def test_node_handler_with_aws_sdk(self):
        """`sluice runtimes install-node-sdk` puts @aws-sdk v3 clients where
        nodejs functions require them, as on Lambda; the client talks to
        Sluice with the function's own session."""
        import json
        import shutil
        if not shutil.which("node") or not shutil.which("npm"):
            self.skipTest("node or npm is not installed")
        res = subprocess.run([SLUICE, "runtimes", "install-node-sdk", "@aws-sdk/client-sts"],
                             env=dict(self.server.cli_env(self.tmp.name), SLUICE_DATA=self.server.data_dir),
                             capture_output=True, text=True, timeout=240)
        if res.returncode != 0 and "ENOTFOUND" in res.stdout + res.stderr:
            self.skipTest("the npm registry is not reachable: " + res.stderr[-300:])
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        src = ('const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");\n'
               'exports.handler = async () => (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn;\n')
        path = os.path.join(self.tmp.name, "nodesdk.zip")
        self.zip_files(path, {"index.js": src})
        with open(path, "rb") as f:
            self.lam.create_function(FunctionName="node-sdk", Runtime="nodejs20.x", Handler="index.handler",
                                     Role=self.role_arn, Code={"ZipFile": f.read()}, Timeout=30)
        out = self.lam.invoke(FunctionName="node-sdk", Payload=b"{}")
        body = out["Payload"].read()
        self.assertNotIn("FunctionError", out, body)
        self.assertEqual(json.loads(body), "arn:aws:sts::000000000000:assumed-role/fn-role/node-sdk")

    def test_boto3_bulk_and_errors(self):
        import json
        with open(self.go_zip, "rb") as f:
            code = f.read()
        for i in range(3):
            self.lam.create_function(FunctionName=f"bulk-{i}", Runtime="provided.al2", Handler="bootstrap",
                                     Role=self.role_arn, Code={"ZipFile": code})
        names = [f["FunctionName"] for p in self.lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
                 for f in p["Functions"]]
        self.assertTrue({"bulk-0", "bulk-1", "bulk-2"} <= set(names), names)
        self.lam.get_waiter("function_active_v2").wait(FunctionName="bulk-0")
        for i in range(10):
            out = self.lam.invoke(FunctionName="bulk-0", Payload=json.dumps({"name": str(i)}))
            self.assertEqual(json.loads(out["Payload"].read())["hello"], str(i))
        out = self.lam.invoke(FunctionName="bulk-0", Payload=b'{"fail": true}')
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertEqual(self.lam.invoke(FunctionName="bulk-0", InvocationType="DryRun")["StatusCode"], 204)
        with self.assertRaises(self.lam.exceptions.InvalidRequestContentException):
            self.lam.invoke(FunctionName="bulk-0", Payload=b"{nope")
        with self.assertRaises(self.lam.exceptions.ResourceNotFoundException):
            self.lam.get_function_configuration(FunctionName="absent")
        with self.assertRaises(self.lam.exceptions.ResourceConflictException):
            self.lam.create_function(FunctionName="bulk-0", Runtime="provided.al2", Handler="bootstrap",
                                     Role=self.role_arn, Code={"ZipFile": code})
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException):
            self.lam.create_function(FunctionName="norole", Runtime="provided.al2", Handler="bootstrap",
                                     Role="arn:aws:iam::000000000000:role/absent", Code={"ZipFile": code})
        self.lam.add_permission(FunctionName="bulk-0", StatementId="s3", Action="lambda:InvokeFunction",
                                Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::photos")
        policy = json.loads(self.lam.get_policy(FunctionName="bulk-0")["Policy"])
        self.assertEqual(policy["Statement"][0]["Principal"], {"Service": "s3.amazonaws.com"})
        self.lam.put_function_concurrency(FunctionName="bulk-0", ReservedConcurrentExecutions=2)
        self.assertEqual(self.lam.get_function_concurrency(FunctionName="bulk-0")["ReservedConcurrentExecutions"], 2)
        arn = self.lam.get_function(FunctionName="bulk-0")["Configuration"]["FunctionArn"]
        self.lam.tag_resource(Resource=arn, Tags={"team": "x"})
        self.assertEqual(self.lam.list_tags(Resource=arn)["Tags"], {"team": "x"})
        # IAM: the trust policy comes back as a document (botocore decodes it).
        role = self.iam.get_role(RoleName="fn-role")["Role"]
        self.assertEqual(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"], "lambda.amazonaws.com")
        with self.assertRaises(self.iam.exceptions.NoSuchEntityException):
            self.iam.get_role(RoleName="absent")
        with self.assertRaises(self.iam.exceptions.EntityAlreadyExistsException):
            self.iam.create_role(RoleName="FN-ROLE", AssumeRolePolicyDocument=self.TRUST)
        with self.assertRaises(self.iam.exceptions.MalformedPolicyDocumentException):
            self.iam.create_role(RoleName="bad", AssumeRolePolicyDocument="{")


    def test_recursive_loop_stops_after_16_invocations(self):
        """A Python function that writes into the bucket that triggers it:
        one upload leads to exactly 16 invocations (16 objects written); the
        17th is stopped and its event goes to the on-failure destination.
        sluice wait covers the whole chain, so nothing runs afterwards."""
        import json
        bucket = "loop-bucket"
        self.s3.create_bucket(Bucket=bucket)
        sqs = self.server.client("sqs")
        failed_url = sqs.create_queue(QueueName="loop-failed")["QueueUrl"]
        src = (
            "import boto3\n"
            "from urllib.parse import unquote_plus\n"
            "s3 = boto3.client('s3')\n"
            "def handler(event, context):\n"
            "    for r in event['Records']:\n"
            "        key = unquote_plus(r['s3']['object']['key'])\n"
            "        s3.put_object(Bucket=r['s3']['bucket']['name'], Key=key + '+', Body=b'again')\n")
        arn = self.python_function("loop", src)
        # The recursion configuration: Terminate by default, round-trips, refuses other values.
        self.assertEqual(self.lam.get_function_recursion_config(FunctionName="loop")["RecursiveLoop"], "Terminate")
        self.assertEqual(self.lam.put_function_recursion_config(FunctionName="loop", RecursiveLoop="Allow")["RecursiveLoop"], "Allow")
        self.assertEqual(self.lam.get_function_recursion_config(FunctionName="loop")["RecursiveLoop"], "Allow")
        self.assertEqual(self.error_code(self.lam.put_function_recursion_config, FunctionName="loop", RecursiveLoop="Never"),
                         "ValidationException")
        self.assertEqual(self.error_code(self.lam.get_function_recursion_config, FunctionName="absent"),
                         "ResourceNotFoundException")
        self.lam.put_function_recursion_config(FunctionName="loop", RecursiveLoop="Terminate")

        self.lam.put_function_event_invoke_config(FunctionName="loop", MaximumRetryAttempts=0, DestinationConfig={
            "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:loop-failed"}})
        self.lam.add_permission(FunctionName="loop", StatementId="s3", Action="lambda:InvokeFunction",
                                Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::" + bucket)
        self.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        rid = self.s3.put_object(Bucket=bucket, Key="seed", Body=b"first")["ResponseMetadata"]["RequestId"]
        res = subprocess.run([SLUICE, "wait", rid, "--timeout", "120s", "--endpoint", self.server.endpoint],
                             env=self.server.cli_env(self.tmp.name), capture_output=True, text=True, timeout=180)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        # The wait lists the stopped invocation as dropped, with the loop
        # as its reason; every other record of the chain was delivered.
        states = [(r["state"], r.get("reason", "")) for r in json.loads(res.stdout)["records"]]
        dropped = [r for st, r in states if st == "dropped"]
        self.assertEqual(len(dropped), 1, states)
        self.assertIn("recursive loop", dropped[0])
        self.assertEqual(sum(st == "delivered" for st, _ in states), 16, states)

        keys = sorted(o["Key"] for p in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                      for o in p.get("Contents", []))
        self.assertEqual(keys, sorted(["seed"] + ["seed" + "+" * n for n in range(1, 17)]))
        msgs = sqs.receive_message(QueueUrl=failed_url, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
        self.assertEqual(len(msgs), 1, msgs)
        rec = json.loads(msgs[0]["Body"])
        self.assertEqual(rec["responsePayload"]["errorType"], "RecursiveInvocationException")
        self.assertEqual(rec["requestContext"]["approximateInvokeCount"], 0)
        # The stopped invocation is the one the 16th write caused.
        self.assertEqual(rec["requestPayload"]["Records"][0]["s3"]["object"]["key"], "seed" + "%2B" * 16)
        # The chain is over: the wait saw every event finished, so the
        # bucket holds what it held then, and one invocation was stopped.
        again = [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        self.assertEqual(sorted(again), keys)
        self.assertIn('sluice_function_recursive_invocations_dropped_total{function="loop"} 1\n', self.metrics())

    def test_sqs_recursive_loop_stops_after_16_invocations(self):
        """A Python function mapped to a queue sends each message, one "+"
        longer, back to that queue: one message from outside leads to
        exactly 16 invocations (one S3 object each); the message the 16th
        sent (16 "+") is not passed to the function, comes back after its
        visibility timeout and the queue's redrive moves it to the DLQ."""
        import json
        import time
        sqs = self.server.client("sqs")
        self.s3.create_bucket(Bucket="sqsloop-seen")
        dlq_url = sqs.create_queue(QueueName="sqsloop-dlq")["QueueUrl"]
        q_url = sqs.create_queue(QueueName="sqsloop", Attributes={"VisibilityTimeout": "2", "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:sqsloop-dlq", "maxReceiveCount": "1"})})["QueueUrl"]
        src = (
            "import os, boto3\n"
            "s3 = boto3.client('s3')\n"
            "sqs = boto3.client('sqs')\n"
            "def handler(event, context):\n"
            "    for r in event.get('Records', []):\n"
            "        s3.put_object(Bucket='sqsloop-seen', Key=r['body'], Body=b'ran')\n"
            "        sqs.send_message(QueueUrl=os.environ['QUEUE_URL'], MessageBody=r['body'] + '+')\n")
        self.python_function("sqsloop", src, Environment={"Variables": {"QUEUE_URL": q_url}})
        # A warm instance first: with maxReceiveCount 1, a cold start longer
        # than the 2 s visibility timeout would send a message to the DLQ.
        self.lam.invoke(FunctionName="sqsloop", Payload=b'{"Records": []}')
        self.lam.create_event_source_mapping(FunctionName="sqsloop", BatchSize=1,
                                             EventSourceArn="arn:aws:sqs:us-east-1:000000000000:sqsloop")
        sqs.send_message(QueueUrl=q_url, MessageBody="seed")
        dead = []
        deadline = time.monotonic() + 60
        while not dead and time.monotonic() < deadline:
            dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
        self.assertEqual([m["Body"] for m in dead], ["seed" + "+" * 16])
        # Each invocation wrote its object before it sent: 16 ran, for the
        # messages with 0 to 15 "+".
        keys = sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket="sqsloop-seen").get("Contents", []))
        self.assertEqual(keys, sorted("seed" + "+" * n for n in range(16)))
        attrs = sqs.get_queue_attributes(QueueUrl=q_url, AttributeNames=["All"])["Attributes"]
        self.assertEqual((attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]), ("0", "0"))
        self.assertIn('sluice_function_recursive_invocations_dropped_total{function="sqsloop"} 1\n', self.metrics())

    def test_invoke_recursive_loop_stops_after_16_invocations(self):
        """A Python function that invokes itself asynchronously through the
        Lambda API (boto3 invoke, InvocationType Event) and writes one S3
        object per invocation: one Event invoke from outside leads to
        exactly 16 invocations; the 17th is stopped and its event goes to
        the on-failure destination. sluice wait does not follow direct
        invokes, so the bucket is polled until its count holds still."""
        import json
        import time
        sqs = self.server.client("sqs")
        self.s3.create_bucket(Bucket="invokeloop-seen")
        failed_url = sqs.create_queue(QueueName="invokeloop-failed")["QueueUrl"]
        src = (
            "import json, boto3\n"
            "s3 = boto3.client('s3')\n"
            "lam = boto3.client('lambda')\n"
            "def handler(event, context):\n"
            "    n = event['n']\n"
            "    s3.put_object(Bucket='invokeloop-seen', Key='%02d' % n, Body=b'ran')\n"
            "    lam.invoke(FunctionName=context.function_name, InvocationType='Event',\n"
            "               Payload=json.dumps({'n': n + 1}))\n")
        self.python_function("invokeloop", src)
        self.lam.put_function_event_invoke_config(FunctionName="invokeloop", MaximumRetryAttempts=0, DestinationConfig={
            "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:invokeloop-failed"}})
        out = self.lam.invoke(FunctionName="invokeloop", InvocationType="Event", Payload=b'{"n": 1}')
        self.assertEqual(out["StatusCode"], 202)

        def count():
            return self.s3.list_objects_v2(Bucket="invokeloop-seen").get("KeyCount", 0)
        deadline = time.monotonic() + 60
        n, steady_since = count(), None
        while time.monotonic() < deadline:
            if n == 16:
                steady_since = steady_since or time.monotonic()
                if time.monotonic() - steady_since >= 3:
                    break
            else:
                steady_since = None
            time.sleep(0.2)
            n = count()
        keys = sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket="invokeloop-seen").get("Contents", []))
        self.assertEqual(keys, ["%02d" % i for i in range(1, 17)])
        msgs = sqs.receive_message(QueueUrl=failed_url, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
        self.assertEqual(len(msgs), 1, msgs)
        rec = json.loads(msgs[0]["Body"])
        self.assertEqual(rec["responsePayload"]["errorType"], "RecursiveInvocationException")
        self.assertEqual(rec["requestPayload"], {"n": 17})
        self.assertIn('sluice_function_recursive_invocations_dropped_total{function="invokeloop"} 1\n', self.metrics())

class Notifications(ServerTest):
    """Bucket notifications to a queue: the CLI user story, bulk checks with boto3, sluice wait."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sqs = cls.server.client("sqs")

    def queue(self, name, bucket):
        import json
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = "arn:aws:sqs:us-east-1:000000000000:" + name
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "SQS:SendMessage",
            "Resource": arn, "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:*:*:" + bucket}}}]}
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        return url, arn

    def drain(self, url, want):
        import json
        out = []
        for _ in range(20):
            if len(out) >= want:
                break
            for m in self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return out

    def test_cli_user_story(self):
        import json
        self.s3.create_bucket(Bucket="uploads-cli")
        url, arn = self.queue("uploads-cli-events", "uploads-cli")
        cfg = os.path.join(self.tmp.name, "notification.json")
        with open(cfg, "w") as f:
            json.dump({"QueueConfigurations": [{"Id": "new-uploads", "QueueArn": arn,
                       "Events": ["s3:ObjectCreated:*"],
                       "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}}]}, f)
        self.aws("s3api", "put-bucket-notification-configuration", "--bucket", "uploads-cli",
                 "--notification-configuration", "file://" + cfg)
        got = json.loads(self.aws("s3api", "get-bucket-notification-configuration", "--bucket", "uploads-cli").stdout)
        self.assertEqual(got["QueueConfigurations"][0]["Id"], "new-uploads")
        src = os.path.join(self.tmp.name, "photo one.jpg")
        with open(src, "wb") as f:
            f.write(b"jpeg")
        self.aws("s3", "cp", src, "s3://uploads-cli/in/photo one.jpg")
        msgs = []
        for _ in range(5):
            res = json.loads(self.aws("sqs", "receive-message", "--queue-url", url, "--max-number-of-messages", "10",
                                      "--wait-time-seconds", "2", "--endpoint-url", self.server.endpoint).stdout or "{}")
            msgs += [json.loads(m["Body"]) for m in res.get("Messages", [])]
            if any("Records" in m for m in msgs):
                break
        self.assertIn("s3:TestEvent", [m.get("Event") for m in msgs])
        rec = [m for m in msgs if "Records" in m][0]["Records"][0]
        self.assertEqual(rec["eventName"], "ObjectCreated:Put")
        self.assertEqual(rec["s3"]["object"]["key"], "in/photo+one.jpg")
        self.assertEqual(rec["s3"]["configurationId"], "new-uploads")

    def test_boto3_bulk_and_wait(self):
        bucket = "uploads-bulk"
        self.s3.create_bucket(Bucket=bucket)
        url, arn = self.queue("uploads-bulk-events", bucket)
        self.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
        self.drain(url, 1)  # the s3:TestEvent
        keys = ["k %d@x/é" % i for i in range(20)]
        ids = {}
        for k in keys:
            ids[k] = self.s3.put_object(Bucket=bucket, Key=k, Body=b"v")["ResponseMetadata"]["RequestId"]
        from urllib.parse import unquote_plus
        recs = [r for m in self.drain(url, len(keys)) for r in m["Records"]]
        self.assertEqual(sorted(unquote_plus(r["s3"]["object"]["key"]) for r in recs), sorted(keys))
        for r in recs:
            self.assertEqual(r["responseElements"]["x-amz-request-id"], ids[unquote_plus(r["s3"]["object"]["key"])])
        # A refused destination holds the record; sluice wait reports it pending, exit 1.
        self.sqs.create_queue(QueueName="no-policy")
        noarn = "arn:aws:sqs:us-east-1:000000000000:no-policy"
        with self.assertRaises(ClientError) as cm:
            self.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
                "QueueConfigurations": [{"QueueArn": noarn, "Events": ["s3:ObjectCreated:*"]}]})
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")
        self.s3.put_bucket_notification_configuration(Bucket=bucket, SkipDestinationValidation=True,
            NotificationConfiguration={"QueueConfigurations": [{"QueueArn": noarn, "Events": ["s3:ObjectCreated:*"]}]})
        rid = self.s3.put_object(Bucket=bucket, Key="held", Body=b"v")["ResponseMetadata"]["RequestId"]
        env = self.server.cli_env(self.tmp.name)
        res = subprocess.run([SLUICE, "wait", rid, "--timeout", "200ms", "--endpoint", self.server.endpoint],
                             env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn('"held"', res.stdout)
        self.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
        rid = self.s3.put_object(Bucket=bucket, Key="none", Body=b"v")["ResponseMetadata"]["RequestId"]
        res = subprocess.run([SLUICE, "wait", rid, "--timeout", "5s", "--endpoint", self.server.endpoint],
                             env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(res.returncode, 0, res.stderr)


class CopyDeleteTagging(ServerTest):
    """CopyObject, DeleteObjects, tagging and conditional writes, as the CLI
    and boto3 send them (botocore sends a CRC32, not Content-MD5, with
    DeleteObjects and PutObjectTagging)."""

    def test_cli_copy_and_recursive_rm(self):
        self.aws("s3", "mb", "s3://cli-copy")
        self.s3.put_object(Bucket="cli-copy", Key="a", Body=b"hello", ContentType="text/plain",
                           Metadata={"m": "1"})
        self.aws("s3", "cp", "s3://cli-copy/a", "s3://cli-copy/b")
        got = self.s3.get_object(Bucket="cli-copy", Key="b")
        self.assertEqual(got["Body"].read(), b"hello")
        self.assertEqual(got["Metadata"], {"m": "1"})
        for i in range(5):
            self.s3.put_object(Bucket="cli-copy", Key=f"dir/{i} +x", Body=b"x")
        out = self.aws("s3", "rm", "--recursive", "s3://cli-copy/").stdout
        self.assertEqual(out.count("delete: "), 7, out)
        self.assertEqual(self.s3.list_objects_v2(Bucket="cli-copy")["KeyCount"], 0)

    def test_boto3_copy_tagging_and_conditions(self):
        s3 = self.s3
        s3.create_bucket(Bucket="b3-copy")
        s3.put_object(Bucket="b3-copy", Key="src", Body=b"x" * 100_000, Tagging="a=1&b=two words")
        tags = s3.get_object_tagging(Bucket="b3-copy", Key="src")["TagSet"]
        self.assertEqual(tags, [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "two words"}])
        self.assertEqual(s3.get_object(Bucket="b3-copy", Key="src")["TagCount"], 2)
        r = s3.copy_object(Bucket="b3-copy", Key="dst", CopySource={"Bucket": "b3-copy", "Key": "src"},
                           TaggingDirective="REPLACE", Tagging="c=3",
                           MetadataDirective="REPLACE", ContentType="image/png")
        head = s3.head_object(Bucket="b3-copy", Key="dst")
        self.assertEqual(r["CopyObjectResult"]["ETag"], head["ETag"])
        self.assertEqual(head["ContentType"], "image/png")
        self.assertEqual(s3.get_object_tagging(Bucket="b3-copy", Key="dst")["TagSet"], [{"Key": "c", "Value": "3"}])
        s3.put_object_tagging(Bucket="b3-copy", Key="dst", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        self.assertEqual(s3.get_object_tagging(Bucket="b3-copy", Key="dst")["TagSet"], [{"Key": "k", "Value": "v"}])
        s3.delete_object_tagging(Bucket="b3-copy", Key="dst")
        self.assertEqual(s3.get_object_tagging(Bucket="b3-copy", Key="dst")["TagSet"], [])
        self.assertEqual(self.error_code(s3.copy_object, Bucket="b3-copy", Key="src",
                                         CopySource={"Bucket": "b3-copy", "Key": "src"}), "InvalidRequest")
        self.assertEqual(self.error_code(s3.copy_object, Bucket="b3-copy", Key="x",
                                         CopySource={"Bucket": "b3-copy", "Key": "src"},
                                         CopySourceIfMatch='"nope"'), "PreconditionFailed")
        self.assertEqual(self.error_code(s3.put_object_tagging, Bucket="b3-copy", Key="src",
                                         Tagging={"TagSet": [{"Key": f"k{i}", "Value": ""} for i in range(11)]}),
                         "BadRequest")
        # Conditional writes.
        s3.put_object(Bucket="b3-copy", Key="once", Body=b"1", IfNoneMatch="*")
        self.assertEqual(self.error_code(s3.put_object, Bucket="b3-copy", Key="once", Body=b"2", IfNoneMatch="*"),
                         "PreconditionFailed")
        self.assertEqual(s3.get_object(Bucket="b3-copy", Key="once")["Body"].read(), b"1")

    def test_boto3_delete_objects_bulk(self):
        s3 = self.s3
        s3.create_bucket(Bucket="b3-bulk")
        keys = [f"k/{i:04d} é+%" for i in range(1000)]
        for k in keys[:50]:
            s3.put_object(Bucket="b3-bulk", Key=k, Body=b"x")
        r = s3.delete_objects(Bucket="b3-bulk", Delete={"Objects": [{"Key": k} for k in keys]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), sorted(keys))
        self.assertNotIn("Errors", r)
        self.assertEqual(s3.list_objects_v2(Bucket="b3-bulk")["KeyCount"], 0)
        s3.put_object(Bucket="b3-bulk", Key="q", Body=b"x")
        r = s3.delete_objects(Bucket="b3-bulk", Delete={"Objects": [{"Key": "q"}], "Quiet": True})
        self.assertNotIn("Deleted", r)
        self.assertEqual(self.error_code(s3.delete_objects, Bucket="b3-bulk",
                                         Delete={"Objects": [{"Key": str(i)} for i in range(1001)]}), "MalformedXML")


class BrowserPostUploads(ServerTest):
    """POST Object forms as boto3's generate_presigned_post makes them: SigV2
    by default in us-east-1, SigV4 with signature_version='s3v4'; posted with
    urllib as a browser would (unsigned, file last)."""

    bucket = "post-uploads"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket=cls.bucket)
        cls.s3v4 = cls.server.client(signature_version="s3v4")

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def post(self, presigned, filename, content, extra=(), after=()):
        """Sends the form: presigned fields, extra fields, the file, then
        fields after the file (which S3 ignores). Returns status, headers,
        body."""
        boundary = "sluice" + os.urandom(8).hex()
        parts = []
        for name, value in list(presigned["fields"].items()) + list(extra):
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f'Content-Type: application/octet-stream\r\n\r\n'.encode() + content + b"\r\n")
        for name, value in after:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(f"--{boundary}--\r\n".encode())
        req = urllib.request.Request(presigned["url"], data=b"".join(parts), method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        opener = urllib.request.build_opener(self._NoRedirect)
        try:
            with opener.open(req, timeout=20) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def assert_refused(self, result, status, code, message=None, key=None):
        got_status, _, body = result
        self.assertEqual(got_status, status, body)
        err = ElementTree.fromstring(body)
        self.assertEqual(err.findtext("Code"), code, body)
        if message:
            self.assertEqual(err.findtext("Message"), message)
        if key:
            self.assertEqual(self.error_code(self.s3.head_object, Bucket=self.bucket, Key=key), "404")

    def test_sigv2_default_with_filename(self):
        p = self.s3.generate_presigned_post(self.bucket, "up/${filename}",
                                            Conditions=[["content-length-range", 1, 1000]], ExpiresIn=300)
        self.assertIn("AWSAccessKeyId", p["fields"])  # SigV2: boto3's default here
        self.assertIn("signature", p["fields"])
        status, headers, body = self.post(p, "photo one.txt", b"posted with v2", after=[("ignored", "x")])
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(headers["ETag"], '"%s"' % hashlib.md5(b"posted with v2").hexdigest())
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="up/photo one.txt")["Body"].read(), b"posted with v2")

    def test_sigv4_201_metadata_and_redirect(self):
        fields = {"success_action_status": "201", "Content-Type": "text/plain", "x-amz-meta-owner": "ana"}
        conds = [{"success_action_status": "201"}, ["starts-with", "$Content-Type", "text/"], {"x-amz-meta-owner": "ana"}]
        p = self.s3v4.generate_presigned_post(self.bucket, "v4/a.txt", Fields=fields, Conditions=conds, ExpiresIn=300)
        self.assertIn("x-amz-signature", p["fields"])
        status, _, body = self.post(p, "a.txt", b"posted with v4")
        self.assertEqual(status, 201, body)
        doc = ElementTree.fromstring(body)
        self.assertEqual(doc.tag, "PostResponse")
        self.assertEqual((doc.findtext("Bucket"), doc.findtext("Key"), doc.findtext("ETag")),
                         (self.bucket, "v4/a.txt", '"%s"' % hashlib.md5(b"posted with v4").hexdigest()))
        self.assertTrue(doc.findtext("Location").endswith("/post-uploads/v4/a.txt"), body)
        got = self.s3.get_object(Bucket=self.bucket, Key="v4/a.txt")
        self.assertEqual((got["ContentType"], got["Metadata"]), ("text/plain", {"owner": "ana"}))

        to = "http://app.example/done"
        p = self.s3v4.generate_presigned_post(self.bucket, "v4/r.txt", Fields={"success_action_redirect": to},
                                              Conditions=[{"success_action_redirect": to}], ExpiresIn=300)
        status, headers, body = self.post(p, "r.txt", b"r")
        self.assertEqual(status, 303, body)
        loc = urllib.parse.urlparse(headers["Location"])
        q = urllib.parse.parse_qs(loc.query)
        self.assertEqual((loc.netloc, q["bucket"], q["key"]), ("app.example", [self.bucket], ["v4/r.txt"]))

    def test_policy_violations_write_nothing(self):
        for version, client in (("v2", self.s3), ("v4", self.s3v4)):
            with self.subTest(signature=version):
                p = client.generate_presigned_post(self.bucket, "up/${filename}", ExpiresIn=300)
                p["fields"]["key"] = "elsewhere/${filename}"
                self.assert_refused(self.post(p, "k.txt", b"x"), 403, "AccessDenied",
                                    'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "up/"]',
                                    key="elsewhere/k.txt")
                p = client.generate_presigned_post(self.bucket, "big.bin", Conditions=[["content-length-range", 0, 10]])
                self.assert_refused(self.post(p, "big.bin", b"x" * 11), 400, "EntityTooLarge", key="big.bin")
                p = client.generate_presigned_post(self.bucket, "late.txt", ExpiresIn=-10)
                self.assert_refused(self.post(p, "late.txt", b"x"), 403, "AccessDenied",
                                    "Invalid according to Policy: Policy expired.", key="late.txt")
                p = client.generate_presigned_post(self.bucket, "forged.txt")
                sig = "x-amz-signature" if "x-amz-signature" in p["fields"] else "signature"
                p["fields"][sig] = p["fields"][sig][::-1]
                self.assert_refused(self.post(p, "forged.txt", b"x"), 403, "SignatureDoesNotMatch", key="forged.txt")
                p = client.generate_presigned_post(self.bucket, "extra.txt")
                self.assert_refused(self.post(p, "extra.txt", b"x", extra=[("x-amz-meta-sneaky", "1")]), 403, "AccessDenied",
                                    "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky", key="extra.txt")


class SyncBothWays(ServerTest):
    """`aws s3 sync` up and down with awkward keys; a second sync of either
    direction transfers nothing."""

    bucket = "sync-both-ways"

    @staticmethod
    def tree(root):
        out = {}
        for dirpath, _, files in os.walk(root):
            for f in files:
                full = os.path.join(dirpath, f)
                with open(full, "rb") as fh:
                    out[os.path.relpath(full, root)] = fh.read()
        return out

    @staticmethod
    def transfers(output, verb):
        return [line for line in output.splitlines() if line.startswith(verb + ":")]

    def test_empty_then_nonempty_put_on_one_connection(self):
        """botocore sends Expect: 100-continue on an empty PUT too; unless
        the server answers it with 100 Continue first, the next PUT on that
        pooled connection is parsed without its status line and hangs
        (boto/botocore#3755). One connection, a short read timeout, no
        retries: a hang fails here in seconds."""
        s3 = self.server.client(max_pool_connections=1, read_timeout=5, retries={"total_max_attempts": 1})
        s3.create_bucket(Bucket="expect-empty")
        for i in range(3):
            empty = os.path.join(self.tmp.name, "empty%d" % i)
            open(empty, "wb").close()
            with open(empty, "rb") as fh:
                s3.put_object(Bucket="expect-empty", Key="e%d" % i, Body=fh)
            body = os.urandom(2000 + i)
            r = s3.put_object(Bucket="expect-empty", Key="n%d" % i, Body=io.BytesIO(body))
            self.assertEqual(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest())
            self.assertEqual(s3.get_object(Bucket="expect-empty", Key="n%d" % i)["Body"].read(), body)

    def test_sync_up_down_and_again(self):
        self.s3.create_bucket(Bucket=self.bucket)
        src = os.path.join(self.tmp.name, "src")
        # A ~1,000-byte key made of path components under the local
        # filesystem's 255-byte limit.
        long_dirs = [("d%d-" % i) + "x~+ %" * 40 + "é" * 10 for i in range(4)]  # 223 bytes each
        long_name = os.path.join(*long_dirs, "f" * 60 + ".bin")
        names = ["with space.txt", "plus+sign.txt", "percent%41%2F.txt", "tilde~x.txt", "ünï cødé/日本語 ファイル.txt",
                 "a b/c+d/e%f~g h.txt", "empty.txt", "deep/er/still.bin", long_name]
        for i, n in enumerate(names):
            path = os.path.join(src, n)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(b"" if n == "empty.txt" else os.urandom(100 + i * 1000))
        key_len = len(("p/" + long_name).encode())
        self.assertGreater(key_len, 900)
        self.assertLessEqual(key_len, 1024)

        up = self.aws("s3", "sync", src, f"s3://{self.bucket}/p/").stdout
        self.assertEqual(len(self.transfers(up, "upload")), len(names), up)
        keys = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="p/"):
            keys += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(sorted(keys), sorted("p/" + n for n in names))

        dst = os.path.join(self.tmp.name, "dst")
        down = self.aws("s3", "sync", f"s3://{self.bucket}/p/", dst).stdout
        self.assertEqual(len(self.transfers(down, "download")), len(names), down)
        self.assertEqual(self.tree(dst), self.tree(src))

        again_up = self.aws("s3", "sync", src, f"s3://{self.bucket}/p/").stdout
        self.assertEqual(self.transfers(again_up, "upload"), [], again_up)
        again_down = self.aws("s3", "sync", f"s3://{self.bucket}/p/", dst).stdout
        self.assertEqual(self.transfers(again_down, "download"), [], again_down)
        self.assertEqual(self.tree(dst), self.tree(src))


class Multipart(ServerTest):
    """Multipart uploads as the CLI (8 MiB parts) and boto3's transfer
    manager send them (x-amz-checksum-algorithm CRC32, a CRC32 per part,
    <ChecksumCRC32> in Complete)."""

    def test_cli_cp_100mb_both_ways(self):
        src = os.path.join(self.tmp.name, "big.bin")
        body = os.urandom(100_000_000)
        with open(src, "wb") as f:
            f.write(body)
        self.aws("s3", "mb", "s3://mpu-cli")
        self.aws("s3", "cp", src, "s3://mpu-cli/big.bin")
        head = self.s3.head_object(Bucket="mpu-cli", Key="big.bin")
        self.assertEqual(head["ContentLength"], len(body))
        self.assertTrue(head["ETag"].endswith('-12"'), head["ETag"])  # 100 MB in 8 MiB parts
        out = os.path.join(self.tmp.name, "back.bin")
        self.aws("s3", "cp", "s3://mpu-cli/big.bin", out)
        with open(out, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), hashlib.sha256(body).hexdigest())

    def test_boto3_transfer_with_checksums(self):
        from boto3.s3.transfer import TransferConfig
        s3 = self.s3
        s3.create_bucket(Bucket="mpu-b3")
        src = os.path.join(self.tmp.name, "up.bin")
        body = os.urandom(23 * 1024 * 1024)
        with open(src, "wb") as f:
            f.write(body)
        cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
        s3.upload_file(src, "mpu-b3", "k", Config=cfg, ExtraArgs={"ChecksumAlgorithm": "SHA256"})
        head = s3.head_object(Bucket="mpu-b3", Key="k", ChecksumMode="ENABLED")
        self.assertTrue(head["ETag"].endswith('-5"'), head["ETag"])
        self.assertTrue(head["ChecksumSHA256"].endswith("-5"), head)
        self.assertEqual(head["ChecksumType"], "COMPOSITE")
        part = s3.get_object(Bucket="mpu-b3", Key="k", PartNumber=2)
        self.assertEqual(part["PartsCount"], 5)
        self.assertEqual(part["Body"].read(), body[5 * 1024 * 1024:10 * 1024 * 1024])
        out = os.path.join(self.tmp.name, "down.bin")
        s3.download_file("mpu-b3", "k", out, Config=cfg)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), body)
        # Errors real clients see.
        up = s3.create_multipart_upload(Bucket="mpu-b3", Key="e")
        s3.upload_part(Bucket="mpu-b3", Key="e", UploadId=up["UploadId"], PartNumber=1, Body=b"tiny")
        p2 = s3.upload_part(Bucket="mpu-b3", Key="e", UploadId=up["UploadId"], PartNumber=2, Body=b"tail")
        p1etag = s3.list_parts(Bucket="mpu-b3", Key="e", UploadId=up["UploadId"])["Parts"][0]["ETag"]
        self.assertEqual(self.error_code(s3.complete_multipart_upload, Bucket="mpu-b3", Key="e", UploadId=up["UploadId"],
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1etag}, {"PartNumber": 2, "ETag": p2["ETag"]}]}),
                         "EntityTooSmall")
        self.assertEqual(self.error_code(s3.complete_multipart_upload, Bucket="mpu-b3", Key="e", UploadId=up["UploadId"],
                                         MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": p2["ETag"]}, {"PartNumber": 1, "ETag": p1etag}]}),
                         "InvalidPartOrder")
        self.assertEqual([u["Key"] for u in s3.list_multipart_uploads(Bucket="mpu-b3")["Uploads"]], ["e"])
        s3.abort_multipart_upload(Bucket="mpu-b3", Key="e", UploadId=up["UploadId"])
        self.assertEqual(self.error_code(s3.list_parts, Bucket="mpu-b3", Key="e", UploadId=up["UploadId"]), "NoSuchUpload")


class Thumbnail(ServerTest):
    """Issue 8: examples/thumbnail, the seed's S3 tutorial. The Go version
    through the README's AWS CLI walkthrough; the Python version and bulk
    checks through boto3, with sluice wait instead of sleeps. Thumbnails are
    checked by their own headers (PNG IHDR, JPEG SOF) for the expected size."""

    ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    EXAMPLE = os.path.join(ROOT, "examples", "thumbnail")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.lam = cls.server.client("lambda")
        build = os.path.join(cls.tmp.name, "thumb-build")
        os.makedirs(build)
        env = dict(os.environ, CGO_ENABLED="0", GOOS="linux")
        subprocess.run(["go", "build", "-tags", "lambda.norpc", "-o", os.path.join(build, "bootstrap"), "."],
                       cwd=os.path.join(cls.EXAMPLE, "go"), env=env, check=True, timeout=300)
        cls.go_zip = os.path.join(cls.tmp.name, "thumbnail.zip")
        with open(os.path.join(build, "bootstrap"), "rb") as f:
            Functions.zip_files(cls.go_zip, {"bootstrap": f.read()}, mode=0o755)
        cls.py_zip = os.path.join(cls.tmp.name, "thumbnail-py.zip")
        files = {}
        for name in ("lambda_function.py", "pngthumb.py"):
            with open(os.path.join(cls.EXAMPLE, "python", name), "rb") as f:
                files[name] = f.read()
        Functions.zip_files(cls.py_zip, files)

    @staticmethod
    def png_size(data):
        import struct
        assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
        length, kind, w, h = struct.unpack(">I4sII", data[8:24])
        assert (length, kind) == (13, b"IHDR"), (length, kind)
        return w, h

    @staticmethod
    def jpeg_size(data):
        """Width and height from the first SOFn marker."""
        import struct
        assert data[:2] == b"\xff\xd8", data[:4]
        pos = 2
        while pos + 4 <= len(data):
            assert data[pos] == 0xFF, f"no marker at {pos}"
            marker = data[pos + 1]
            (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[pos + 5:pos + 9])
                return w, h
            pos += 2 + length
        raise AssertionError("no SOF marker")

    @staticmethod
    def png(width, height):
        """An RGB PNG with a diagonal gradient, written without pngthumb."""
        import struct
        import zlib
        raw = b"".join(b"\0" + bytes(((x + y) % 256, x % 256, y % 256)[c] for x in range(width) for c in range(3))
                       for y in range(height))

        def chunk(kind, body):
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

    def wait(self, request_id):
        """sluice wait: every record the request caused is delivered, for a
        function: the invocation finished."""
        res = subprocess.run([SLUICE, "wait", request_id, "--timeout", "30s", "--endpoint", self.server.endpoint],
                             env=self.server.cli_env(self.tmp.name), capture_output=True, text=True, timeout=60)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        return res.stdout

    def wire(self, function, bucket):
        """Buckets, S3's permission and the notification, through boto3."""
        self.s3.create_bucket(Bucket=bucket)
        self.s3.create_bucket(Bucket=bucket + "-resized")
        self.lam.add_permission(FunctionName=function, StatementId="s3", Action="lambda:InvokeFunction",
                                Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::" + bucket,
                                SourceAccount="000000000000")
        arn = self.lam.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
        self.s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})

    def test_go_cli_walkthrough(self):
        """examples/thumbnail/README.md, typed as a user types it."""
        import json
        ex = self.EXAMPLE
        self.aws("iam", "create-role", "--role-name", "thumbnail",
                 "--assume-role-policy-document", "file://" + os.path.join(ex, "trust.json"))
        fn = json.loads(self.aws("lambda", "create-function", "--function-name", "thumbnail",
                                 "--runtime", "provided.al2023", "--handler", "bootstrap", "--timeout", "30",
                                 "--zip-file", "fileb://" + self.go_zip,
                                 "--role", "arn:aws:iam::000000000000:role/thumbnail").stdout)
        self.assertEqual(fn["State"], "Active")
        self.aws("s3", "mb", "s3://photos")
        self.aws("s3", "mb", "s3://photos-resized")
        # Without S3's permission the notification is refused, as on AWS.
        res = self.aws("s3api", "put-bucket-notification-configuration", "--bucket", "photos",
                       "--notification-configuration", "file://" + os.path.join(ex, "notify.json"), check=False)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("Unable to validate the following destination configurations", res.stderr)
        self.aws("lambda", "add-permission", "--function-name", "thumbnail", "--statement-id", "s3",
                 "--action", "lambda:InvokeFunction", "--principal", "s3.amazonaws.com",
                 "--source-arn", "arn:aws:s3:::photos", "--source-account", "000000000000")
        self.aws("s3api", "put-bucket-notification-configuration", "--bucket", "photos",
                 "--notification-configuration", "file://" + os.path.join(ex, "notify.json"))
        self.aws("s3", "cp", os.path.join(ex, "testdata", "sample.jpg"), "s3://photos/incoming/my cat.jpg")
        # The README's bounded poll, with boto3 here to save CLI start-ups.
        import time
        for _ in range(200):
            try:
                self.s3.head_object(Bucket="photos-resized", Key="resized-incoming/my cat.jpg")
                break
            except ClientError:
                time.sleep(0.1)
        ls = self.aws("s3", "ls", "--recursive", "s3://photos-resized/").stdout
        self.assertIn("resized-incoming/my cat.jpg", ls)
        out = os.path.join(self.tmp.name, "thumb.jpg")
        self.aws("s3", "cp", "s3://photos-resized/resized-incoming/my cat.jpg", out)
        with open(out, "rb") as f:
            self.assertEqual(self.jpeg_size(f.read()), (128, 85))  # 640x427 scaled to fit 128x128
        logs = subprocess.run([SLUICE, "logs", "thumbnail"], env=self.server.cli_env(self.tmp.name),
                              capture_output=True, text=True, timeout=30)
        self.assertIn("wrote s3://photos-resized/resized-incoming/my cat.jpg", logs.stdout)

        # Bulk, through boto3: PNG in, PNG out; sluice wait means the
        # invocation finished, so the thumbnail is there at once.
        cases = {"png/wide+1.png": ((400, 300), (128, 96)), "png/tall é.png": ((50, 200), (32, 128)),
                 "png/small.png": ((20, 10), (20, 10))}
        for key, (size, want) in cases.items():
            rid = self.s3.put_object(Bucket="photos", Key=key, Body=self.png(*size))["ResponseMetadata"]["RequestId"]
            self.wait(rid)
            got = self.s3.get_object(Bucket="photos-resized", Key="resized-" + key)
            self.assertEqual(got["ContentType"], "image/png")
            self.assertEqual(self.png_size(got["Body"].read()), want, key)

    def test_python_function(self):
        """The Python version: created with the CLI, driven with boto3."""
        self.aws("iam", "create-role", "--role-name", "thumbnail-py",
                 "--assume-role-policy-document", "file://" + os.path.join(self.EXAMPLE, "trust.json"))
        self.aws("lambda", "create-function", "--function-name", "thumbnail-py", "--runtime", "python3.11",
                 "--handler", "lambda_function.lambda_handler", "--timeout", "60",
                 "--zip-file", "fileb://" + self.py_zip, "--role", "arn:aws:iam::000000000000:role/thumbnail-py")
        self.wire("thumbnail-py", "pics")
        with open(os.path.join(self.EXAMPLE, "testdata", "sample.png"), "rb") as f:
            sample = f.read()
        cases = {"in/sample one.png": (sample, (128, 96)), "in/a+b é.png": (self.png(50, 200), (32, 128)),
                 "in/small.png": (self.png(20, 10), (20, 10))}
        for key, (body, want) in cases.items():
            rid = self.s3.put_object(Bucket="pics", Key=key, Body=body)["ResponseMetadata"]["RequestId"]
            self.assertIn("thumbnail-py", self.wait(rid))
            got = self.s3.get_object(Bucket="pics-resized", Key="resized-" + key)["Body"].read()
            self.assertEqual(self.png_size(got), want, key)
        # The unit tests of the standard-library PNG code run on the same python3.
        res = subprocess.run([sys.executable, "-m", "unittest", "-q", "test_pngthumb"],
                             cwd=os.path.join(self.EXAMPLE, "python"), capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("OK", res.stderr)


class Restart(unittest.TestCase):
    """Created credentials and acknowledged objects survive a restart."""

    def test_restart_keeps_credentials_and_objects(self):
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "data")
            os.makedirs(data)
            first = Sluice(data).start()
            try:
                s3 = first.client()
                s3.create_bucket(Bucket="keep")
                big = os.urandom(3 << 20)  # a blob, not an inline record
                s3.put_object(Bucket="keep", Key="big", Body=big)
                s3.put_object(Bucket="keep", Key="small", Body=b"tiny")
            finally:
                self.assertEqual(first.stop(), 0)
            second = Sluice(data).start()
            try:
                self.assertEqual(second.creds["AWS_ACCESS_KEY_ID"], first.creds["AWS_ACCESS_KEY_ID"])
                s3 = second.client()
                self.assertEqual(s3.get_object(Bucket="keep", Key="big")["Body"].read(), big)
                self.assertEqual(s3.get_object(Bucket="keep", Key="small")["Body"].read(), b"tiny")
            finally:
                self.assertEqual(second.stop(), 0)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    SLUICE = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
