"""The Python version of AWS's tutorial "Using an Amazon S3 trigger to create
thumbnail images": for each object an S3 event names, read the PNG image,
scale it to fit in 128x128 and write it to "<bucket>-resized" under
"resized-<key>". The tutorial uses Pillow; pngthumb does the PNG work with
the standard library, so the function runs on any python3 with boto3.
"""

from urllib.parse import unquote_plus

import boto3

import pngthumb

# Created once per instance and reused while the instance is warm.
s3_client = boto3.client("s3")

# Objects larger than this are refused rather than read into memory.
MAX_BYTES = 32 << 20


def lambda_handler(event, context):
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        # Keys in S3 events are form-encoded: "my cat.png" arrives as "my+cat.png".
        key = unquote_plus(record["s3"]["object"]["key"])
        obj = s3_client.get_object(Bucket=bucket, Key=key)
        if obj["ContentLength"] > MAX_BYTES:
            raise ValueError("s3://%s/%s is larger than %d bytes" % (bucket, key, MAX_BYTES))
        thumb = pngthumb.thumbnail(obj["Body"].read())
        # A second bucket keeps the function from triggering itself.
        s3_client.put_object(Bucket=bucket + "-resized", Key="resized-" + key, Body=thumb,
                             ContentType="image/png")
        print("wrote s3://%s-resized/resized-%s (%d bytes)" % (bucket, key, len(thumb)))
