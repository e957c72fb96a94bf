"""Reading the program's memory without running any of its code.

Everything here works on a live process and on a core file alike: values
are read, never computed by calling into the program. Failures raise
CoscopeError with a short reason, which callers print as one line.
"""

import gdb


class CoscopeError(Exception):
    """A runtime object could not be read; str() is a one-line reason."""


NO_PROCESS = "no process: the program has not been started (run, start, attach) and no core file is loaded"


def require_process():
    """Raises CoscopeError unless there is a process or a core file to read.

    Before `run` gdb reads a global from the program's file: the tasks and
    schedulers it would show are the file's initial values, not the
    program's; and libcoscope.so, not loaded yet, looks missing."""
    if not has_inferior_memory():
        raise CoscopeError(NO_PROCESS)


def _truncated_core_note():
    """The truncation of the core file being read, as a clause, or None."""
    from . import core_memory  # here: core_memory is only needed on this path

    truncated = core_memory.truncation()
    return truncated.summary() if truncated is not None else None


def lookup_type(name):
    try:
        return gdb.lookup_type(name)
    except gdb.error:
        require_process()
        note = _truncated_core_note()
        if note is not None:
            raise CoscopeError("no type %s: %s; gdb may not have found libcoscope in it" % (name, note))
        raise CoscopeError("no type %s (is the program linked with libcoscope, with debug info?)" % name)


def global_value(name):
    """A global variable's value, looked up in every loaded objfile."""
    require_process()
    symbol = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    if symbol is None:
        try:
            value = gdb.parse_and_eval(name)
        except gdb.error:
            note = _truncated_core_note()
            if note is not None:
                # The list of shared libraries is in memory the core lost.
                raise CoscopeError("no symbol %s: %s; gdb may not have found libcoscope in it, so nothing "
                                   "about the coroutines can be read" % (name, note))
            raise CoscopeError("no symbol %s (is the program linked with libcoscope?)" % name)
    else:
        value = symbol.value()
    _check_in_core(name, value)
    return value


def _check_in_core(name, value):
    """Raises CoscopeError if the global lies in memory a truncated core lost:
    gdb would read the file's initial value there (an empty registry)."""
    from . import core_memory

    truncated = core_memory.truncation()
    address = address_of(value)
    if truncated is not None and address and truncated.lacks(address, value.type.sizeof):
        raise CoscopeError("%s (at 0x%x) is not in the core file: %s; gdb would read its initial value "
                           "from the library's file, not what the program held" % (name, address, truncated.summary()))


def address_of(value):
    """A value's address as an int; 0 for one that is not in the program's
    memory (a convenience variable, a value computed by gdb)."""
    address = value.address
    return int(address) if address is not None else 0


def pointee(value):
    """The object `value` is, or, for a pointer, the object it points to."""
    if value.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
        return value.dereference()
    return value


def short_error(error):
    """The first line of an exception's message."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def read_cstring(pointer, limit=512):
    """The NUL-terminated string a char pointer points to (None for nullptr).

    Read in small chunks up to `limit` bytes, so that a wild pointer costs
    little and a string ending just before unmapped memory still reads."""
    address = int(pointer)
    if address == 0:
        return None
    inferior = gdb.selected_inferior()
    data = b""
    while len(data) < limit:
        try:
            chunk = bytes(inferior.read_memory(address + len(data), 32))
        except (gdb.error, gdb.MemoryError):
            try:  # a shorter tail may still be readable
                chunk = bytes(inferior.read_memory(address + len(data), 1))
            except (gdb.error, gdb.MemoryError) as e:
                raise CoscopeError("cannot read string at 0x%x: %s" % (address, short_error(e)))
        data += chunk
        if b"\0" in chunk:
            break
    return data.split(b"\0", 1)[0][:limit].decode("utf-8", errors="replace")


def read_char_array(value):
    """A NUL-terminated char array field, read within the array's bounds."""
    try:
        size = value.type.strip_typedefs().sizeof
        raw = bytes(gdb.selected_inferior().read_memory(value.address, size))
    except (gdb.error, gdb.MemoryError) as e:
        raise CoscopeError("cannot read name: %s" % short_error(e))
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def enum_name(value):
    """An enum value's enumerator name without its scope: co::TaskState::sleep -> sleep."""
    number = int(value)
    for field in value.type.strip_typedefs().fields():
        if field.enumval == number:
            return field.name.rsplit("::", 1)[-1]
    return None


def field_offset(type_, name):
    """Byte offset of a field in a struct type."""
    for field in type_.strip_typedefs().fields():
        if field.name == name:
            return field.bitpos // 8
    raise CoscopeError("type %s has no field %s" % (type_, name))


def read_words(address, count):
    """count 64-bit little-endian words at address, as ints."""
    import struct

    try:
        raw = bytes(gdb.selected_inferior().read_memory(address, 8 * count))
    except (gdb.error, gdb.MemoryError) as e:
        raise CoscopeError("cannot read memory at 0x%x: %s" % (address, short_error(e)))
    return list(struct.unpack("<%dQ" % count, raw))


def has_inferior_memory():
    """True when there is a process or a core file to read."""
    inferior = gdb.selected_inferior()
    return inferior is not None and inferior.pid != 0 or gdb.selected_thread() is not None
