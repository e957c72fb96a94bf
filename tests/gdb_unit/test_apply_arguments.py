"""`coroutine apply`'s arguments (apply_arguments.parse), without gdb."""

import unittest

import toolkit_path
from coscope.apply_arguments import ArgumentError, parse


class ParseTest(unittest.TestCase):
    def test_all_then_command(self):
        self.assertEqual(parse("all bt"), (None, set(), "bt"))

    def test_ids_and_ranges_in_the_order_given(self):
        self.assertEqual(parse("5 1-3 9 info locals"), ([5, 1, 2, 3, 9], set(), "info locals"))

    def test_flags_after_the_ids(self):
        self.assertEqual(parse("all -q -s bt -1"), (None, {"-q", "-s"}, "bt -1"))
        self.assertEqual(parse("2 -s print x"), ([2], {"-s"}, "print x"))

    def test_command_keeps_its_own_dashes(self):
        # "bt -1": the flags end at the first word that is not one.
        self.assertEqual(parse("1 2 -q bt -1"), ([1, 2], {"-q"}, "bt -1"))
        # "--" ends the flags: a command that starts with "-q" is the user's.
        self.assertEqual(parse("all -- -q"), (None, set(), "-q"))

    def test_command_keeps_its_spacing(self):
        self.assertEqual(parse("  3   print   a  +  b "), ([3], set(), "print   a  +  b"))

    def test_errors_in_gdbs_words(self):
        cases = {
            "": "Please specify a coroutine ID list",
            "   ": "Please specify a coroutine ID list",
            "x bt": "Invalid coroutine ID: x bt",
            "3-1 bt": "Inverted range: 3-1",
            "all": "Please specify a command at the end of 'coroutine apply all'",
            "all -q": "Please specify a command at the end of 'coroutine apply all'",
            "4 7": "Please specify a command following the coroutine ID list",
            "4 -s": "Please specify a command following the coroutine ID list",
        }
        for argument, message in cases.items():
            with self.subTest(argument=argument):
                with self.assertRaises(ArgumentError) as raised:
                    parse(argument)
                self.assertEqual(str(raised.exception), message)

    def test_without_gdb(self):
        toolkit_path.assert_no_gdb(self)


if __name__ == "__main__":
    unittest.main()
