"""Uploads a file with tuspy, the Python tus client, and prints a JSON report as its last line.

usage: TUS_TOKEN=… tuspy_upload.py ENDPOINT FILE RECORD_ID PHOTO_ID CHUNK_SIZE [--url URL]
       [--stop-at N] [--checksum] [--retries N]
"""
import argparse
import json
import os
import sys

from tusclient import client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

p = argparse.ArgumentParser()
for name in ("endpoint", "file", "record_id", "photo_id"):
    p.add_argument(name)
p.add_argument("chunk_size", type=int)
p.add_argument("--url")
p.add_argument("--stop-at", type=int)
p.add_argument("--checksum", action="store_true")
p.add_argument("--retries", type=int, default=0)
a = p.parse_args()

tus = client.TusClient(a.endpoint, headers={"Authorization": "Bearer " + os.environ["TUS_TOKEN"]})
uploader = tus.uploader(
    a.file,
    chunk_size=a.chunk_size,
    metadata={"record_id": a.record_id, "photo_id": a.photo_id, "content_type": "image/jpeg"},
    url=a.url,
    upload_checksum=a.checksum,
    retries=a.retries,
    retry_delay=0.2,
)
try:
    uploader.upload(stop_at=a.stop_at)
except (TusCommunicationError, TusUploadFailed) as e:
    print(json.dumps({"error": str(e), "url": uploader.url, "offset": uploader.offset}))
    sys.exit(1)
print(json.dumps({"url": uploader.url, "offset": uploader.offset}))
