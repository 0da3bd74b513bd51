#!/usr/bin/env python3
"""Malformed uploads against a running `medsam serve`: each gets a 4xx with a JSON error, the
server stays up, and nothing is written outside its --temp-dir.

    python3 scripts/tests/check_serve_uploads.py [--medsam .build/debug/medsam]

Sends: a truncated NIfTI, a zip whose entry is named ../../escaped.dcm, a zip bomb (200 MiB of
zeros deflated to a few hundred KiB; the server's limit is 50 MiB), a 2 GB declared
Content-Length with a short body, an unknown extension, and an empty body.
"""
import argparse
import gzip
import http.client
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import zipfile


def request(port, method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    return r.status, r.getheader("content-type"), data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--medsam", default=".build/debug/medsam")
    args = ap.parse_args()
    root = tempfile.mkdtemp(prefix="check-serve-uploads-")
    temp = os.path.join(root, "server-temp")
    os.makedirs(temp)
    server = subprocess.Popen([args.medsam, "serve", "--port", "0", "--backend", "cpu", "--max-upload-mb", "50",
                               "--temp-dir", temp], stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in server.stderr:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port, "the server did not start"
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()

        hdr = bytearray(348)
        struct.pack_into("<i", hdr, 0, 348)
        struct.pack_into("<8h", hdr, 40, 3, 64, 64, 64, 1, 1, 1, 1)
        struct.pack_into("<hh", hdr, 70, 4, 16)
        struct.pack_into("<f", hdr, 108, 352)
        hdr[344:348] = b"n+1\0"
        truncated = gzip.compress(bytes(hdr) + b"\0" * 4 + b"\1\0" * 1000)  # 1000 of 262144 voxels

        traversal = io.BytesIO()
        with zipfile.ZipFile(traversal, "w") as z:
            z.writestr("../../escaped.dcm", b"not a dicom file")
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("slice.dcm", b"\0" * (200 << 20))

        cases = [
            ("truncated NIfTI", "/v1/images?name=t.nii.gz", truncated, {}, 422),
            ("path traversal in a DICOM zip", "/v1/images?name=series.zip", traversal.getvalue(), {}, 422),
            ("zip bomb", "/v1/images?name=bomb.zip", bomb.getvalue(), {}, 413),
            ("unknown extension", "/v1/images?name=notes.txt", b"hello", {}, 415),
            ("empty body", "/v1/images?name=a.nii", b"", {}, 400),
        ]
        for name, path, body, headers, expected in cases:
            status, ctype, data = request(port, "POST", path, body, headers)
            err = json.loads(data)["error"]
            assert status == expected and ctype == "application/json" and err["status"] == status, (name, status, data[:300])
            print(f"{name}: {status} {err['message'][:110]}")

        # 2 GB declared, a few bytes sent: refused from the header, without waiting for the body.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.putrequest("POST", "/v1/images?name=huge.nii")
        conn.putheader("Content-Length", str(2 << 30))
        conn.endheaders()
        conn.send(b"\0" * 1024)
        r = conn.getresponse()
        err = json.loads(r.read())["error"]
        assert r.status == 413, r.status
        print(f"2 GB declared: {r.status} {err['message']}")

        status, _, data = request(port, "GET", "/v1/health")
        assert status == 200 and json.loads(data)["images"] == 0, data
        for bad in ["/tmp/escaped.dcm", os.path.join(root, "escaped.dcm"), os.path.join(temp, "..", "escaped.dcm")]:
            assert not os.path.exists(bad), f"{bad} was written"
        leftovers = [os.path.join(d, f) for d, _, fs in os.walk(temp) for f in fs]
        assert not leftovers, f"files left in the server's temp folder: {leftovers}"
        print("check_serve_uploads: OK (server up, nothing written outside or left inside its temp folder)")
    finally:
        server.terminate()
        rc = server.wait(timeout=30)
        assert rc == 0, f"the server exited with {rc} on SIGTERM"
    return 0


if __name__ == "__main__":
    sys.exit(main())
