#!/usr/bin/env python3
"""Click latency and throughput of `medsam serve` on loopback (a benchmark, not a test).

Starts the server (default: LiteMedSAM on cpu), uploads a synthetic 512x512 CT-like volume,
encodes --slices slices ahead, then measures:
  1. first-click latency on slices not encoded yet (encoder + decoder), --first clicks;
  2. open loop: --clients clients, each clicking about --rate times a second (exponential gaps,
     as annotators click) on encoded slices for --duration seconds; latency is measured from
     each click's scheduled time, so a slow server cannot hide its queue (no coordinated omission);
  3. closed loop: the same clients clicking back to back for --duration seconds: clicks/s;
  4. with --soak N: N more clicks back to back in rounds of 1000 (new connections each round),
     the server's resident memory after each round, to show it stays flat.
Every response is checked (status 200, a mask of the slice's size); errors are counted.
Prints one JSON object.

    python3 scripts/bench/serve_load.py --medsam .build/release/medsam [--backend cpu]
"""
import argparse
import gzip
import http.client
import json
import os
import random
import re
import struct
import subprocess
import sys
import threading
import time

import numpy as np


def nifti_gz(vol, spacing):
    """A minimal NIfTI-1 (int16) so the script needs only numpy."""
    nx, ny, nz = vol.shape
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    struct.pack_into("<8h", hdr, 40, 3, nx, ny, nz, 1, 1, 1, 1)
    struct.pack_into("<h", hdr, 70, 4)     # datatype int16
    struct.pack_into("<h", hdr, 72, 16)    # bitpix
    struct.pack_into("<8f", hdr, 76, 1, *spacing, 1, 1, 1, 1)
    struct.pack_into("<f", hdr, 108, 352)  # vox_offset
    struct.pack_into("<f", hdr, 112, 1)    # scl_slope
    struct.pack_into("<h", hdr, 254, 1)    # sform_code
    struct.pack_into("<4f", hdr, 280, spacing[0], 0, 0, 0)
    struct.pack_into("<4f", hdr, 296, 0, spacing[1], 0, 0)
    struct.pack_into("<4f", hdr, 312, 0, 0, spacing[2], 0)
    hdr[344:348] = b"n+1\0"
    return gzip.compress(bytes(hdr) + b"\0" * 4 + vol.astype("<i2").tobytes(order="F"), 1)


def volume(n=512, slices=16, seed=0):
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    vol = np.full((n, n, slices), -1000.0)
    body = ((i - n / 2) / (0.42 * n)) ** 2 + ((j - n / 2) / (0.36 * n)) ** 2 < 1
    for k in range(slices):
        s = np.where(body, 40.0, -1000.0)
        s[((i - 0.4 * n) / (0.1 * n)) ** 2 + ((j - 0.45 * n) / (0.08 * n + k)) ** 2 < 1] = 130
        s[((i - 0.62 * n) / (0.06 * n)) ** 2 + ((j - 0.55 * n) / (0.05 * n)) ** 2 < 1] = 600
        vol[:, :, k] = s + rng.normal(0, 12, (n, n))
    return vol


class Client:
    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method, path, body=None, raw=False):
        data = body if raw else (json.dumps(body).encode() if body is not None else None)
        self.conn.request(method, path, body=data, headers=self.headers)
        r = self.conn.getresponse()
        payload = r.read()
        return r.status, (json.loads(payload) if payload else None)


def click(client, image, slice_, n, rng):
    x, y = rng.uniform(0.3 * n, 0.7 * n), rng.uniform(0.3 * n, 0.7 * n)
    body = {"slice": slice_, "boxes": [[x - 40, y - 40, x + 40, y + 40]]}
    start = time.perf_counter()
    status, answer = client.call("POST", f"/v1/images/{image}/segment", body)
    elapsed = (time.perf_counter() - start) * 1000
    ok = status == 200 and answer["width"] == n and answer["height"] == n and sum(answer["masks"][0]["rle"]["counts"]) == n * n
    return ok, elapsed, answer


def rss_mib(pid):
    """The server's resident memory (Linux /proc), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None


def percentile(values, q):
    return float(np.percentile(np.array(values), q)) if values else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--medsam", default=".build/release/medsam")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rate", type=float, default=1.0, help="clicks per second per client (open loop)")
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--slices", type=int, default=8, help="slices encoded ahead")
    ap.add_argument("--first", type=int, default=4, help="first clicks on new slices")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--soak", type=int, default=0, help="clicks of the memory soak (0: none)")
    args = ap.parse_args()
    token = "load-token"
    total_slices = args.slices + args.first
    server = subprocess.Popen([args.medsam, "serve", "--port", "0", "--backend", args.backend, "--token", token,
                               "--cache-mb", "512"], stderr=subprocess.PIPE, text=True)
    try:
        port = None
        for line in server.stderr:
            m = re.search(r"listening on http://[^:]+:(\d+)", line)
            if m:
                port = int(m.group(1))
                break
        assert port, "the server did not start"
        threading.Thread(target=lambda: [None for _ in server.stderr], daemon=True).start()
        admin = Client(port, token)
        n = args.size
        status, info = admin.call("POST", "/v1/images?name=load.nii.gz", nifti_gz(volume(n, total_slices), (0.8, 0.8, 2.5)), raw=True)
        assert status == 201, info
        image = info["id"]
        rng = random.Random(1)

        # 1. First clicks on slices nobody encoded.
        first = []
        for s in range(args.slices, total_slices):
            ok, ms, answer = click(admin, image, s, n, rng)
            assert ok and not answer["cached"], answer
            first.append({"totalMs": answer["timings"]["totalMs"], "encodeMs": answer["timings"]["encodeMs"],
                          "decodeMs": answer["timings"]["decodeMs"], "clientMs": ms})

        # Encode the rest ahead and wait for the cache.
        status, _ = admin.call("POST", f"/v1/images/{image}/encode", {"slices": list(range(args.slices))})
        assert status == 202
        deadline = time.time() + 600
        while admin.call("GET", f"/v1/images/{image}")[1]["cachedSlices"] < total_slices:
            assert time.time() < deadline, "background encoding did not finish"
            time.sleep(0.2)

        def run(open_loop, limit=None):
            lat, server_ms, errors, counts, in_flight = [], [], [0], [0], [0]
            stages = {"queueMs": [], "decodeMs": []}
            lock = threading.Lock()
            t0 = time.perf_counter() + 0.5
            end = t0 + (args.duration if limit is None else 3600)

            def worker(w):
                c = Client(port, token)
                r = random.Random(100 + w)
                next_at = t0 + r.uniform(0, 1 / args.rate)
                while True:
                    if open_loop:
                        now = time.perf_counter()
                        if next_at >= end:
                            break
                        if next_at > now:
                            time.sleep(next_at - now)
                        scheduled = next_at
                        next_at += r.expovariate(args.rate)
                    else:
                        scheduled = time.perf_counter()
                        if scheduled >= end:
                            break
                        if limit is not None:
                            with lock:
                                if counts[0] + in_flight[0] >= limit:
                                    break
                                in_flight[0] += 1
                    try:
                        ok, _, answer = click(c, image, r.randrange(args.slices), n, r)
                    except Exception:
                        ok, answer = False, None
                    done = time.perf_counter()
                    with lock:
                        counts[0] += 1
                        if limit is not None:
                            in_flight[0] -= 1
                        if ok and answer["cached"]:
                            lat.append((done - scheduled) * 1000)
                            server_ms.append(answer["timings"]["totalMs"])
                            for k in stages:
                                stages[k].append(answer["timings"][k])
                        else:
                            errors[0] += 1

            threads = [threading.Thread(target=worker, args=(w,)) for w in range(args.clients)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - max(start, t0)
            return {"clicks": counts[0], "errors": errors[0], "seconds": round(wall, 2),
                    "p50Ms": percentile(lat, 50), "p99Ms": percentile(lat, 99), "maxMs": max(lat) if lat else None,
                    "serverP50Ms": percentile(server_ms, 50), "serverP99Ms": percentile(server_ms, 99),
                    # Where the server's time goes: waiting for the model thread, then the decoder
                    # with its post-processing (the rest of serverP50Ms is mask encoding and bookkeeping).
                    "serverQueueP50Ms": percentile(stages["queueMs"], 50),
                    "serverDecodeP50Ms": percentile(stages["decodeMs"], 50),
                    "serverDecodeP99Ms": percentile(stages["decodeMs"], 99),
                    "clicksPerSecond": round(counts[0] / wall, 2), "loadAverage": round(os.getloadavg()[0], 2)}

        rss = [rss_mib(server.pid)]
        open_result = run(True)
        rss.append(rss_mib(server.pid))
        closed_result = run(False)
        rss.append(rss_mib(server.pid))
        soak = None
        if args.soak:
            rounds = []
            for _ in range(0, args.soak, 1000):
                r = run(False, limit=1000)
                rounds.append({"clicks": r["clicks"], "errors": r["errors"], "p50Ms": r["p50Ms"],
                               "p99Ms": r["p99Ms"], "rssMiB": rss_mib(server.pid)})
            soak = {"clicks": sum(r["clicks"] for r in rounds), "errors": sum(r["errors"] for r in rounds),
                    "rounds": rounds}
        health = admin.call("GET", "/v1/health")[1]
        print(json.dumps({"backend": args.backend, "model": health["model"], "size": n, "clients": args.clients,
                          "ratePerClient": args.rate, "durationSeconds": args.duration,
                          "firstClick": first, "openLoop": open_result, "closedLoop": closed_result, "soak": soak,
                          "cache": health["cache"],
                          "rssMiB": {"beforeOpenLoop": rss[0], "afterOpenLoop": rss[1], "afterClosedLoop": rss[2]}},
                         indent=2))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
