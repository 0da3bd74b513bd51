#!/usr/bin/env python3
"""Which compute devices `medsam devices --json` finds, and whether CI has the ones it tests.

CI runs every GPU kernel on CPU drivers (PoCL for OpenCL, lavapipe for Vulkan). If a driver
disappeared, the OpenCL and Vulkan tests would turn into skips and CI would stay green while
testing neither backend. So in CI (environment variable CI set to true/1/yes) this fails unless
both an OpenCL and a Vulkan device are present. On a user's machine it only reports.

Usage: check_devices.py MEDSAM_BINARY [--require opencl,vulkan]
Prints one line per backend (its devices, or why it has none). Exit status 1 in CI when a
required backend has no device, 0 otherwise.
"""
import argparse, json, os, subprocess, sys


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("medsam")
    ap.add_argument("--require", default="opencl,vulkan",
                    help="backends that must have a device in CI (comma-separated)")
    args = ap.parse_args()
    r = subprocess.run([args.medsam, "devices", "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"FAIL: '{args.medsam} devices --json' exited {r.returncode}: {r.stderr.strip()}")
        return 1
    try:
        listing = json.loads(r.stdout)["backends"]
    except (ValueError, KeyError, TypeError) as e:
        print(f"FAIL: cannot read the device list ({e}): {r.stdout[:500]}")
        return 1
    found = {}
    for entry in listing:
        name = entry.get("backend", "?")
        devices = entry.get("devices") or []
        found[name] = devices
        if devices:
            names = "; ".join(f"{d.get('name', '?')} [{d.get('driver', '?')}]" for d in devices)
            print(f"  {name:9s} {len(devices)} device(s): {names}")
        else:
            print(f"  {name:9s} no device: {entry.get('error') or 'none listed'}")
    missing = [b for b in args.require.split(",") if b and not found.get(b)]
    if not missing:
        print("devices: every required backend has a device (" + args.require + ")")
        return 0
    if in_ci():
        print(f"FAIL: CI tests {', '.join(missing)} but no such device was found; its tests would only "
              f"skip. Install the driver (scripts/setup.sh: pocl-opencl-icd, mesa-vulkan-drivers) or fix "
              f"the loader environment (OCL_ICD_VENDORS, VK_DRIVER_FILES / VK_ICD_FILENAMES).")
        return 1
    print(f"note: no {', '.join(missing)} device: those backends' tests will be skipped on this machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
