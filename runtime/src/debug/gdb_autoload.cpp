// Makes gdb load the coscope toolkit by itself when it opens a program or a
// core file linked with libcoscope: a `.debug_gdb_scripts` section entry.
//
// The entry is a short inlined Python script (gdb's "gdb.inlined-script"
// form), not a file name: a file name is looked up in gdb's own script
// directories, which knows neither a build tree nor an installed prefix. The
// script finds the toolkit's package itself, trying in order
//   1. <directory of this library>/COSCOPE_GDB_RELATIVE_DIR   (installed)
//   2. COSCOPE_GDB_SOURCE_DIR                                  (build tree)
// and prints one line if neither holds it. gdb runs section scripts only
// from files under its auto-load safe-path (see docs/gdb.md):
//   gdb -iex 'add-auto-load-safe-path /prefix/lib' ...
// Both directories are set by the build (cmake/gdb_toolkit.cmake).

#if !defined(COSCOPE_GDB_RELATIVE_DIR) || !defined(COSCOPE_GDB_SOURCE_DIR)
#error "COSCOPE_GDB_RELATIVE_DIR and COSCOPE_GDB_SOURCE_DIR come from the build"
#endif

// "MS", entry size 1, as in gdb's manual: identical entries get merged.
// clang-format off
__asm__(
    ".pushsection \".debug_gdb_scripts\", \"MS\",@progbits,1\n"
    ".byte 4\n"  // SECTION_SCRIPT_ID_PYTHON_TEXT
    ".ascii \"gdb.inlined-script.coscope\\n\"\n"
    ".ascii \"import os, sys, gdb\\n\"\n"
    ".ascii \"def _coscope_autoload():\\n\"\n"
    ".ascii \"    loaded = sys.modules.get('coscope')\\n\"\n"
    ".ascii \"    if getattr(loaded, 'COSCOPE_TOOLKIT', False):\\n\"\n"
    ".ascii \"        return loaded.register()\\n\"\n"
    ".ascii \"    objfile = gdb.current_objfile()\\n\"\n"
    ".ascii \"    here = os.path.dirname(os.path.realpath(objfile.filename)) if objfile else ''\\n\"\n"
    ".ascii \"    for d in (os.path.join(here, '" COSCOPE_GDB_RELATIVE_DIR "'), '" COSCOPE_GDB_SOURCE_DIR "'):\\n\"\n"
    ".ascii \"        if os.path.isfile(os.path.join(d, 'coscope', '__init__.py')):\\n\"\n"
    ".ascii \"            sys.path.insert(0, d)\\n\"\n"
    ".ascii \"            import coscope\\n\"\n"
    ".ascii \"            return coscope.register()\\n\"\n"
    ".ascii \"    gdb.write('coscope: gdb toolkit not found near %s; source gdb/coscope.py by hand\\\\n' % here)\\n\"\n"
    ".ascii \"_coscope_autoload()\\n\"\n"
    ".ascii \"del _coscope_autoload\\n\"\n"
    ".byte 0\n"
    ".popsection\n");
// clang-format on

// Referenced from spawn.cpp, so a program linked with the static archive
// keeps this object, and with it the section entry.
extern "C" __attribute__((visibility("hidden"))) const char coscope_gdb_autoload = 0;
