#!/usr/bin/env python3
"""Runs clang-tidy (the repository's .clang-tidy) over every source of the
runtime and the hooks that the build compiles, and fails on any warning
(.clang-tidy makes each one an error), naming the files.

    check_tidy.py --clang-tidy clang-tidy --build-dir BUILD --source-dir REPO [--jobs N]

The sources and their flags come from BUILD/compile_commands.json
(CMAKE_EXPORT_COMPILE_COMMANDS, on in the top-level CMakeLists.txt); a source
compiled more than once (the static archive's copies) is checked once.
Assembly sources (.S) are not C or C++: clang-tidy has nothing to say there.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

FOLDERS = ("runtime", "hooks")
CHECKED = (".c", ".cc", ".cpp")


def sources(build_dir, source_dir):
    """The runtime's and the hooks' sources in the compilation database."""
    database = os.path.join(build_dir, "compile_commands.json")
    if not os.path.exists(database):
        sys.exit(f"check_tidy: no {database}: configure with CMAKE_EXPORT_COMPILE_COMMANDS=ON")
    with open(database) as f:
        entries = json.load(f)
    roots = tuple(os.path.join(os.path.realpath(source_dir), folder) + os.sep for folder in FOLDERS)
    found = set()
    for entry in entries:
        path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
        if path.startswith(roots) and path.endswith(CHECKED):
            found.add(path)
    return sorted(found)


def tidy(clang_tidy, build_dir, path):
    """clang-tidy's exit status and what it printed, for one source."""
    result = subprocess.run([clang_tidy, "-p", build_dir, "--quiet", path],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return result.returncode, result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clang-tidy", default="clang-tidy")
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    paths = sources(args.build_dir, args.source_dir)
    if not paths:
        sys.exit("check_tidy: no runtime or hooks source in the compilation database")
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = pool.map(lambda path: tidy(args.clang_tidy, args.build_dir, path), paths)
        for path, (status, output) in zip(paths, runs):
            if status != 0:
                failed.append(os.path.relpath(path, args.source_dir))
                print(output, end="")
    if failed:
        print("clang-tidy found errors in:\n  " + "\n  ".join(failed))
        return 1
    print(f"{len(paths)} runtime and hooks sources pass clang-tidy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
