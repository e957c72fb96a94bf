"""An excerpt of a page against a fresh transcript.

The transcript is what walk printed, minus its narration (the lines flush
left: a page has its own prose) and minus blank lines. An excerpt is cut
into segments at its blank lines and at its elision lines (`...`); each
segment must appear in the transcript as consecutive lines, and the segments
in the excerpt's order. Lines are compared after `normalise.Normaliser`.
Consecutive means a page may leave out a command's output only where it
says so with `...`, and cannot join one stop's table header to another
stop's rows.

A stale segment is located where the run shows it now: the place in the
transcript, after the previous segment, whose lines best agree with it. If
there every line differs only in its numbers or spacing, and no other place
agrees as well, the segment can be rewritten from the run (`--update`); if
the segment is commands with their output and the run runs those commands,
one after the other, in one place only, it is replaced by the commands and
their whole output as the run printed them.
"""

import difflib

from . import normalise

ELISION = "..."


class Transcript:
    """A run's lines, as compared: a list of (raw line, group). Lines of one
    group follow each other in the run with no narration between them."""

    def __init__(self, text, normaliser, indent="  "):
        self.normaliser = normaliser
        self.unordered = normaliser.racy  # a command's output lines in any order
        # Flush-left gdb sessions (docs/gdb.md) are quoted whole: their blank
        # lines are gdb's and count; a walkthrough page joins parts with them.
        self.blank_lines_count = not indent
        self.lines = []
        group = 0
        for raw in text.split("\n"):
            if not raw.strip() and not self.blank_lines_count:
                continue
            if indent and not raw.startswith(indent):
                group += 1  # narration: a boundary
                continue
            self.lines.append((raw, group))
        self.keys = [normaliser.normalise(raw) for raw, _ in self.lines]

    def __len__(self):
        return len(self.lines)

    def shown(self, index):
        return self.normaliser.cut_dirs(self.lines[index][0])


class Stale:
    """A segment that the run does not show: the excerpt lines that differ,
    what the run shows there now, and the rewrite if one is unambiguous."""

    def __init__(self, excerpt, segment, differences, replacement, why_not):
        self.excerpt = excerpt
        self.segment = segment  # [(index in excerpt, line)]
        self.differences = differences  # [(index in excerpt, page line, run line or None)]
        self.replacement = replacement  # [lines] to put in the segment's place, or None
        self.why_not = why_not  # why there is no replacement


def segments(lines, blank_lines_count=False):
    """[[(index, line)]]: the runs of lines between elision lines, and
    between blank lines unless they count."""
    result, current = [], []
    for index, line in enumerate(lines):
        if line.strip() == ELISION or not line.strip() and not blank_lines_count:
            if current:
                result.append(current)
            current = []
        else:
            current.append((index, line))
    if current:
        result.append(current)
    return result


def same(key_page, key_run, widths_vary=False):
    """Two normalised lines are the same: exactly, or but for column widths
    when a value was replaced in them or in their table (widths_vary)."""
    (text_page, varied_page), (text_run, varied_run) = key_page, key_run
    if text_page == text_run:
        return True
    return (widths_vary or varied_page or varied_run) and normalise.loose(text_page) == normalise.loose(text_run)


def window_matches(keys, transcript, position):
    """The segment's keys match the transcript's lines from position on."""
    window = transcript.keys[position:position + len(keys)]
    if len(window) < len(keys):
        return False
    tables = output_blocks(transcript.lines[position:position + len(keys)])
    widths_vary = {}
    for table, key, run in zip(tables, keys, window):
        widths_vary[table] = widths_vary.get(table, False) or key[1] or run[1]
    if transcript.unordered:
        return all(sorted(normalise.loose(key[0]) for t, key in zip(tables, keys) if t == table)
                   == sorted(normalise.loose(run[0]) for t, run in zip(tables, window) if t == table)
                   for table in set(tables))
    return all(same(key, run, widths_vary[table]) for table, key, run in zip(tables, keys, window))


def output_blocks(lines):
    """For each line, the number of the command whose output it is (a table
    is padded within one command's output only)."""
    blocks, number = [], 0
    for raw, _ in lines:
        if is_command(raw):
            number += 1
        blocks.append(number)
    return blocks


def similar(key_page, key_run):
    return normalise.skeleton(key_page[0]) == normalise.skeleton(key_run[0])


def close(key_page, key_run):
    """The same line but for some of its words (at least 60% alike, by
    difflib's ratio): a line of the same place in the run, printed a little
    differently."""
    return difflib.SequenceMatcher(None, key_page[0], key_run[0]).ratio() >= 0.6


def find(keys, transcript, start):
    """The first index >= start where keys match consecutive lines, or None."""
    for position in range(start, len(transcript) - len(keys) + 1):
        if window_matches(keys, transcript, position):
            return position
    return None


def check(excerpt, transcript):
    """[Stale] for the excerpt's segments that the transcript does not show."""
    stale = []
    cursor = 0
    for segment in segments(excerpt.lines, transcript.blank_lines_count):
        keys = [transcript.normaliser.normalise(line) for _, line in segment]
        position = find(keys, transcript, cursor)
        if position is not None:
            cursor = position + len(keys)
            continue
        problem, position = diagnose(excerpt, segment, keys, transcript, cursor)
        stale.append(problem)
        if position is not None:
            cursor = position + len(keys)
    return stale


def diagnose(excerpt, segment, keys, transcript, cursor):
    """(Stale, the position it is at now or None)."""
    best, best_score = None, 0
    for position in range(cursor, len(transcript)):
        score = sum(2 if same(key, transcript.keys[position + k]) else 1 if similar(key, transcript.keys[position + k]) else 0
                    for k, key in enumerate(keys) if position + k < len(transcript))
        if score > best_score:
            best, best_score = position, score
    if best is None:
        differences = [(index, line, "") for (index, line), key in zip(segment, keys)]
        return Stale(excerpt, segment, differences[:1], None, "the run shows nothing like it"), None
    differences = []
    for k, ((index, line), key) in enumerate(zip(segment, keys)):
        run_line = transcript.shown(best + k) if best + k < len(transcript) else ""
        if best + k >= len(transcript) or not same(key, transcript.keys[best + k]):
            differences.append((index, line, run_line))
    replacement, why_not = rewrite(segment, keys, transcript, cursor, best)
    return Stale(excerpt, segment, differences, replacement, why_not), best


def rewrite(segment, keys, transcript, cursor, best):
    """(lines, None) to replace the segment with, or (None, why not)."""
    count = len(keys)
    fits = [position for position in range(cursor, len(transcript) - count + 1)
            if all(similar(key, transcript.keys[position + k]) for k, key in enumerate(keys))]
    if len(fits) == 1:
        return [transcript.shown(fits[0] + k) for k in range(count)], None
    if len(fits) > 1:
        return None, "the run shows it in %d places" % len(fits)
    commands = [k for k, (_, line) in enumerate(segment) if is_command(line)]
    if not commands or commands[0] != 0:
        alike = [position for position in range(cursor, len(transcript) - count + 1)
                 if all(close(key, transcript.keys[position + k]) for k, key in enumerate(keys))]
        if len(alike) == 1:  # e.g. a frame whose arguments gdb now prints another way
            return [transcript.shown(alike[0] + k) for k in range(count)], None
        return None, "its lines changed, not only their numbers, and it does not start with a command; edit it by hand"
    wanted = [keys[k] for k in commands]
    places = [start for start in range(cursor, len(transcript)) if runs_commands(transcript, start, wanted)]
    if len(places) != 1:
        return None, "its commands run %d times in the run; edit it by hand" % len(places)
    start = end = places[0]
    seen = 0
    while end < len(transcript):
        if is_command(transcript.lines[end][0]):
            seen += 1
            if seen > len(wanted):
                break
        elif seen == len(wanted) and transcript.lines[end][1] != transcript.lines[end - 1][1]:
            break  # the last command's output ends at the narration after it
        end += 1
    return [transcript.shown(position) for position in range(start, end)], None


def runs_commands(transcript, start, wanted):
    """The transcript runs exactly the commands `wanted` from start on, one
    after the other (no other command between them; walk's narration may
    be, as the page has its own)."""
    if not same(wanted[0], transcript.keys[start]):
        return False
    found = 0
    for position in range(start, len(transcript)):
        raw = transcript.lines[position][0]
        if not is_command(raw):
            continue
        if found == len(wanted):
            break
        if not same(wanted[found], transcript.keys[position]):
            return False
        found += 1
    return found == len(wanted)


def is_command(line):
    text = line.strip()
    return text.startswith("$ ") or text.startswith("(gdb) ")
