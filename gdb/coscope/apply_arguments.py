"""The arguments of `coroutine apply`: which coroutines, which flags, which
command; read as `thread apply` reads its own. Nothing here imports gdb."""

import re

# An ID or a range of IDs, as "thread apply" takes them: 5, 1-3.
_ID_OR_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
FLAGS = ("-q", "-s")


class ArgumentError(Exception):
    """Arguments `coroutine apply` cannot take; str() is gdb's kind of message."""


def parse(argument):
    """(ids or None for all, flags, command) from the command's argument.

    "all" or a list of IDs and ranges, then flags (-q, -s; "--" ends them),
    then the command, which is the rest of the line as typed."""
    rest = argument.strip()
    if not rest:
        raise ArgumentError("Please specify a coroutine ID list")
    first, _, tail = rest.partition(" ")
    ids = None
    if first == "all":
        rest = tail.strip()
    else:
        ids = []
        while rest:
            word, _, tail = rest.partition(" ")
            match = _ID_OR_RANGE.match(word)
            if match is None:
                break
            low = int(match.group(1))
            high = int(match.group(2) or low)
            if high < low:
                raise ArgumentError("Inverted range: %s" % word)
            ids.extend(range(low, high + 1))
            rest = tail.strip()
        if not ids:
            raise ArgumentError("Invalid coroutine ID: %s" % rest)
    flags = set()
    while rest:
        word, _, tail = rest.partition(" ")
        if word == "--":
            rest = tail.strip()
            break
        if word not in FLAGS:
            break
        flags.add(word)
        rest = tail.strip()
    if not rest:
        if ids is None:
            raise ArgumentError("Please specify a command at the end of 'coroutine apply all'")
        raise ArgumentError("Please specify a command following the coroutine ID list")
    return ids, flags, rest
