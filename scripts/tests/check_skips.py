#!/usr/bin/env python3
"""Every test `swift test` skipped, checked against the allow-list of justified skips.

A skipped test is a test that did not run; in CI a skip that nobody decided on (a driver that
vanished, a download that failed, a fixture that went missing) must fail the run rather than
leave it green. The allow-list (Tests/skip-allowlist.txt) names each test that may skip and why,
one per line: `TestName | justification`; `#` starts a comment. Test names are XCTest's
`Class.testMethod` or Swift Testing's display name as printed.

Reads the output of `swift test` and finds skips in both formats:
  XCTest       Test Case 'Class.testMethod' skipped (0.001 seconds).       (Linux)
               Test Case '-[Module.Class testMethod]' skipped (0.001 seconds).  (macOS)
  Swift Testing  ➜ Test testMethod() skipped: "reason"
               ➜ Test "display name" skipped: "reason"   (listed without the quotes)
               ➜ Suite Name skipped: "reason"

In CI (CI=true/1/yes) the run fails on any skip not on the list, and on a list entry without a
justification. Off CI it only reports. Either way it ends by printing the allowed skips that
happened, with their reasons, and list entries that did not skip (candidates for removal).

Usage: check_skips.py SWIFT_TEST_LOG [--allowlist Tests/skip-allowlist.txt]
"""
import argparse, os, re, sys

XCTEST_SKIP = re.compile(r"Test Case '(?:-\[(?:[\w.]+\.)?(\w+) (\w+)\]|([\w.]+))' skipped")
# XCTest on Linux prints the reason as `FILE:LINE: Class.testMethod : Skipped - reason` (older
# toolchains) or `... : Test skipped - reason`; keep whatever follows the name.
XCTEST_REASON = re.compile(r"^\S*:\d+: (?:-\[(?:[\w.]+\.)?(\w+) (\w+)\]|([\w.]+)) : (?:Test )?[Ss]kipped(?: - |: )?(.*)$")
SWIFT_TESTING_SKIP = re.compile(r"^\S+\s+(Test|Suite) (.+?) skipped(?:: \"?(.*?)\"?)?\.?\s*$")


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def xctest_name(m, first):
    return f"{m.group(first)}.{m.group(first + 1)}" if m.group(first) else m.group(first + 2)


def find_skips(lines):
    """Name -> reason ('' when the log gives none), in first-seen order."""
    skips, reasons = {}, {}
    for line in lines:
        line = line.rstrip("\n")
        m = XCTEST_REASON.match(line)
        if m:
            reasons[xctest_name(m, 1)] = m.group(4).strip()
            continue
        m = XCTEST_SKIP.search(line)
        if m:
            name = xctest_name(m, 1)
            # The bare form may carry a module prefix (Module.Class.test): keep Class.test.
            parts = name.split(".")
            skips.setdefault(".".join(parts[-2:]) if len(parts) > 2 else name, "")
            continue
        m = SWIFT_TESTING_SKIP.match(line)
        if m:
            # A display name is printed in quotes ("name"), a function name without (name()).
            skips.setdefault(m.group(2).strip('"'), (m.group(3) or "").strip())
    for name in skips:
        if not skips[name] and name in reasons:
            skips[name] = reasons[name]
    return skips


def read_allowlist(path):
    """Name -> justification; a problem list for malformed lines."""
    allowed, problems = {}, []
    if not os.path.exists(path):
        return allowed, [f"{path} does not exist"]
    for number, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, why = (part.strip() for part in line.partition("|"))
        if not why:
            problems.append(f"{path}:{number}: '{name}' has no justification (expected 'Name | why')")
        allowed[name] = why
    return allowed, problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--allowlist", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                        "..", "..", "Tests", "skip-allowlist.txt"))
    args = ap.parse_args()
    skips = find_skips(open(args.log, encoding="utf-8", errors="replace"))
    allowed, problems = read_allowlist(args.allowlist)
    unexpected = [n for n in skips if n not in allowed]
    ci = in_ci()

    for p in problems:
        print(("FAIL: " if ci else "note: ") + p)
    for name in unexpected:
        verdict = "FAIL: skip not on the allow-list" if ci else "note: skip not on the allow-list (fails in CI)"
        print(f"{verdict}: {name}: {skips[name] or '(no reason printed)'}")
    happened = [n for n in skips if n in allowed]
    print(f"\n{len(skips)} test(s) skipped; {len(happened)} allowed by {os.path.relpath(args.allowlist)}:")
    for name in happened:
        print(f"  {name}\n      skipped because: {skips[name] or '(no reason printed)'}\n      allowed because: {allowed[name]}")
    stale = [n for n in allowed if n not in skips]
    if stale:
        print("allow-listed but ran (not skipped) this time: " + ", ".join(stale))
    if ci and (unexpected or problems):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
