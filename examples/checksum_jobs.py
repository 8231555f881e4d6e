"""Print one trio-bucket task for each gzip file under some folders.

Each task runs ``gzip --test FILE``, which decompresses the file and checks the
result against the CRC-32 checksum stored in it, so a truncated or damaged file
fails its task. Debian-like systems keep hundreds of such files under
/usr/share/doc, the default folder::

    python3 examples/checksum_jobs.py | trio-bucket run --max-tasks 8 > events.jsonl

Each task's id is the file's path. Symbolic links are skipped, so that no file is
checked twice.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator


def gzip_files(folder: str) -> Iterator[str]:
    """Yield the path of every regular .gz file under *folder*, in sorted order."""
    for root, folders, files in os.walk(folder):
        folders.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.endswith(".gz") and not os.path.islink(path):
                yield path


def main() -> int:
    """Print the tasks and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "folders",
        nargs="*",
        default=["/usr/share/doc"],
        metavar="FOLDER",
        help="folders to search for .gz files (default: /usr/share/doc)",
    )
    arguments = parser.parse_args()

    count = 0
    for folder in arguments.folders:
        for path in gzip_files(folder):
            task = {"id": path, "data": {"argv": ["gzip", "--test", "--", path]}}
            print(json.dumps(task), flush=True)
            count += 1

    if count == 0:
        folders = ", ".join(arguments.folders)
        print(
            f"checksum_jobs.py: no .gz files under {folders}; name other folders, "
            "like /usr/share/man",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        # The runner stopped reading (after SIGINT, say): exit quietly, as head(1) expects.
        sys.stderr.close()
        sys.exit(1)
