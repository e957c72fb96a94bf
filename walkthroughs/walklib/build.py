"""Building what a step needs, through the project's own CMake build.

The build tree is the one scripts/build.sh uses (build/ in the repository, or
$COSCOPE_BUILD_DIR), or --build-dir. A tree that was never configured is
configured as scripts/build.sh does it (RelWithDebInfo: the toolkit reads the
runtime's debug info). Only the step's targets are built, with
$COSCOPE_JOBS jobs (default: the number of CPUs).
"""

import glob
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class BuildError(Exception):
    pass


def default_build_dir():
    build_dir = os.environ.get("COSCOPE_BUILD_DIR", "build")
    return build_dir if os.path.isabs(build_dir) else os.path.join(REPO, build_dir)


def configure_if_needed(build_dir, say):
    if os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
        return
    say("walk: configuring %s (RelWithDebInfo) ..." % build_dir)
    run(["cmake", "-S", REPO, "-B", build_dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], "configure")


def build_targets(build_dir, targets, say):
    configure_if_needed(build_dir, say)
    jobs = os.environ.get("COSCOPE_JOBS") or str(os.cpu_count() or 2)
    say("walk: building %s in %s ..." % (" ".join(targets), build_dir))
    run(["cmake", "--build", build_dir, "--parallel", jobs, "--target"] + list(targets), "build")


def run(argv, what):
    try:
        result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                stdin=subprocess.DEVNULL)
    except OSError as error:
        raise BuildError("walk: cannot run %s: %s" % (argv[0], error))
    if result.returncode != 0:
        hint = ""
        if "No rule to make target" in result.stdout or "unknown target" in result.stdout:
            hint = ("\nwalk: this build tree does not have the walkthrough targets; configure it with "
                    "-DCOSCOPE_BUILD_WALKTHROUGHS=ON")
        raise BuildError("%s\nwalk: the %s step failed (%s)%s" % (result.stdout.rstrip(), what, " ".join(argv), hint))


def library_dir(build_dir):
    """The directory of libcoscope in this build tree (the gdb toolkit's
    auto-load safe path)."""
    for pattern in ("runtime/libcoscope.so*", "runtime/libcoscope.a"):
        found = glob.glob(os.path.join(build_dir, pattern))
        if found:
            return os.path.dirname(found[0])
    return os.path.join(build_dir, "runtime")


def step_bin_dir(build_dir, step):
    return os.path.join(build_dir, "walkthroughs", step.folder_name)
