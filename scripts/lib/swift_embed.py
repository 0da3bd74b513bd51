"""Shared by the scripts that embed text files into committed Swift sources
(scripts/kernels/embed-opencl.py, scripts/web/embed-viewer.py): the raw string literal and the
write-or---check step, so both generators quote and verify the same way."""
import pathlib
import sys


def raw_string(tool: str, name: str, text: str) -> list:
    """`text` as the lines of a Swift raw string literal `#\"\"\"...\"\"\"#`.

    The closing delimiter stands at column 0 so the content keeps its own indentation; text that
    would end the literal or interpolate into it is refused rather than escaped."""
    for bad in ('"""#', '\\#'):
        if bad in text:
            sys.exit(f"{tool}: {name} contains {bad!r}, which would end or interpolate the Swift raw string")
    return ['#"""', *text.rstrip("\n").split("\n"), '"""#']


def write_or_check(tool: str, root: pathlib.Path, output: pathlib.Path, text: str, regenerate: str) -> int:
    """Write `text` to `output`, or with --check on the command line return 1 if it differs."""
    if "--check" in sys.argv[1:]:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            print(f"{tool}: {output.relative_to(root)} is stale; run {regenerate}", file=sys.stderr)
            return 1
        print(f"{tool}: {output.relative_to(root)} is up to date")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"{tool}: wrote {output.relative_to(root)}")
    return 0
