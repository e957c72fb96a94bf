"""Puts the toolkit's package (gdb/coscope) on the import path, and checks
that what the tests import runs without gdb."""

import os
import sys

GDB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "gdb")
if GDB_DIR not in sys.path:
    sys.path.insert(0, GDB_DIR)


def assert_no_gdb(test_case):
    """The modules under test must not have imported gdb (there is none here)."""
    test_case.assertNotIn("gdb", sys.modules, "a module of pure logic imported gdb")
