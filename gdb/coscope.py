# Entry point of the coscope gdb toolkit, for loading it by hand:
#
#   (gdb) source gdb/coscope.py
#
# gdb normally loads the toolkit by itself when it opens a program or core
# linked with libcoscope (see runtime/src/debug/gdb_autoload.cpp and docs/gdb.md).
# Either way the work is done by the `coscope` package next to this file.
import os
import sys

import gdb  # noqa: F401 - fails at once outside gdb


def _coscope_load():
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import coscope  # the package directory wins over this file of the same name

    coscope.register()


_coscope_load()
del _coscope_load
