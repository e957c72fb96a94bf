#!/usr/bin/env python3
"""Checks the JSON trace (COSCOPE_TRACE=FILE.json) of trace_scenarios.

    check_trace.py TRACE_SCENARIOS

Runs each scenario under COSCOPE_TRACE=<temp>/run.json and reads the file:
it parses, every kind of event is there and means what it should (a run per
processer lane, the wait reasons, the hooked calls, a wake arrow from the
timer, the reactor, a task and a close to the park each ended), and it is
whole however the program ended (exit(), an uncaught exception, a stack
overflow).
"""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import unittest

SCENARIOS = None  # the trace_scenarios program, from the command line


def run(scenario, directory):
    path = os.path.join(directory, scenario + '.json')
    env = dict(os.environ, COSCOPE_TRACE=path)
    proc = subprocess.run([SCENARIOS, scenario], env=env, capture_output=True,
                          text=True, timeout=60)
    with open(path) as f:
        return proc, json.load(f)


def events(trace, ph=None, cat=None):
    return [e for e in trace['traceEvents']
            if (ph is None or e['ph'] == ph) and (cat is None or e.get('cat') == cat)]


def task_pids(trace):
    """{task name: pid} from the process_name metadata of the task tracks."""
    names = {}
    for e in events(trace, 'M'):
        if e['name'] == 'process_name' and e['pid'] != 1:
            label = e['args']['name']
            names[re.sub(r'^task \d+ ?', '', label)] = e['pid']
    return names


class EveryEvent(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with tempfile.TemporaryDirectory() as d:
            cls.proc, cls.trace = run('every-event', d)
        cls.pids = task_pids(cls.trace)

    def test_runs_and_ends_by_exit(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
        self.assertEqual(self.trace['otherData']['end'], 'exit')

    def test_every_phase_is_present(self):
        self.assertEqual({e['ph'] for e in self.trace['traceEvents']},
                         {'M', 'X', 'C', 's', 'f'})

    def test_a_lane_per_processer(self):
        lanes = {e['tid']: e['args']['name'] for e in events(self.trace, 'M')
                 if e['name'] == 'thread_name' and e['pid'] == 1}
        self.assertLessEqual({'timer', 'reactor'}, set(lanes.values()))
        runs = events(self.trace, 'X', 'run')
        # co_sched's processer, then the second scheduler's two.
        ran_on = sorted(lanes[tid] for tid in {e['tid'] for e in runs})
        self.assertEqual(len(ran_on), 3, ran_on)
        schedulers = [re.fullmatch(r'processer (\d+) \(scheduler (\d+)\)', lane).groups() for lane in ran_on]
        self.assertEqual(sorted(index for index, _ in schedulers), ['0', '0', '1'])
        self.assertEqual(len({scheduler for _, scheduler in schedulers}), 2)
        for e in runs:
            self.assertTrue(e['name'].startswith('task %d' % e['args']['task']), e)

    def test_runs_say_why_they_stopped(self):
        stops = {e['args']['stop'] for e in events(self.trace, 'X', 'run')}
        self.assertEqual(stops, {'yield', 'sleep', 'io_block', 'sys_block', 'done'})
        colours = {e['args']['stop']: e['cname'] for e in events(self.trace, 'X', 'run')}
        self.assertEqual(len(set(colours.values())), len(colours))

    def test_wait_reasons_are_state_slices(self):
        def states(task):
            return [e for e in events(self.trace, 'X', 'state')
                    if e['pid'] == self.pids[task]]

        def ended(task, name):
            return {e['args'].get('ended by') for e in states(task) if re.fullmatch(name, e['name'])}

        self.assertEqual(ended('writer', 'sleep'), {'timer'})
        self.assertEqual(ended('reader', r'fd \d+ readable'), {'reactor'})
        self.assertEqual(ended('receiver', 'channel recv'), {'task'})
        self.assertEqual(ended('close victim', r'fd \d+ readable'), {'close'})
        self.assertIn('running', {e['name'] for e in states('yielder')})
        self.assertIn('runnable', {e['name'] for e in states('yielder')})

    def test_a_tracks_states_follow_each_other(self):
        by_pid = {}
        for e in events(self.trace, 'X', 'state'):
            by_pid.setdefault(e['pid'], []).append(e)
        for pid, slices in by_pid.items():
            slices.sort(key=lambda e: e['ts'])
            for a, b in zip(slices, slices[1:]):
                self.assertAlmostEqual(a['ts'] + a['dur'], b['ts'], delta=0.002,
                                       msg='task pid %d: %s then %s' % (pid, a, b))

    def test_hooked_calls_are_slices(self):
        hooks = events(self.trace, 'X', 'hook')
        names = {re.sub(r'\(.*', '', e['name']) for e in hooks}
        self.assertLessEqual({'read', 'write', 'close', 'usleep'}, names)
        read = [e for e in hooks if e['pid'] == self.pids['reader'] and e['name'].startswith('read(')]
        self.assertEqual(len(read), 1)
        self.assertEqual(read[0]['args']['result'], 1)
        self.assertGreater(read[0]['dur'], 5000)  # parked until the writer's 20 ms sleep ended

    def test_every_wake_is_an_arrow_from_its_waker(self):
        starts = {e['id']: e for e in events(self.trace, 's')}
        ends = {e['id']: e for e in events(self.trace, 'f')}
        self.assertEqual(set(starts), set(ends))
        self.assertLessEqual({'timer', 'reactor', 'task', 'close'},
                             {e['name'] for e in starts.values()})
        for flow, start in starts.items():
            self.assertLessEqual(start['ts'], ends[flow]['ts'])
        # The channel's arrow starts on the reader's track: it sent the value.
        task_arrows = [e for e in starts.values() if e['name'] == 'task']
        self.assertIn(self.pids['reader'], {e['pid'] for e in task_arrows})

    def test_counters_return_to_zero(self):
        for name in ('runnable tasks', 'parked tasks'):
            values = [e['args']['tasks'] for e in events(self.trace, 'C') if e['name'] == name]
            self.assertGreater(max(values), 0, name)
            self.assertEqual(values[-1], 0, name)
            self.assertGreaterEqual(min(values), 0, name)


class SwitchedOn(unittest.TestCase):
    """Tracing switched on mid-run: tasks first seen parked or running."""

    def test_tracks_start_where_the_trace_starts(self):
        with tempfile.TemporaryDirectory() as d:
            proc, trace = run('switched-on', d)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        pids = task_pids(trace)
        self.assertLessEqual({'receiver', 'sender', 'busy', 'switcher'}, set(pids))
        receiver = [e for e in events(trace, 'X', 'state') if e['pid'] == pids['receiver']]
        self.assertEqual(receiver[0]['name'], 'channel recv')
        self.assertEqual(receiver[0]['args']['ended by'], 'task')
        for name in ('runnable tasks', 'parked tasks'):
            values = [e['args']['tasks'] for e in events(trace, 'C') if e['name'] == name]
            self.assertGreaterEqual(min(values), 0, name)
            self.assertEqual(values[-1], 0, name)
        self.assertEqual({e['id'] for e in events(trace, 's')}, {e['id'] for e in events(trace, 'f')})


class Exits(unittest.TestCase):
    """However the program ends, the file parses and its open slices are closed."""

    def check(self, scenario, end):
        with tempfile.TemporaryDirectory() as d:
            proc, trace = run(scenario, d)
        self.assertEqual(trace['otherData']['end'], end)
        parked = task_pids(trace)['parked']
        closed = [e for e in events(trace, 'X', 'state')
                  if e['pid'] == parked and e.get('args', {}).get('ended by') == 'end of trace']
        self.assertEqual([e['name'] for e in closed], ['sleep'])
        return proc

    def test_exit(self):
        self.assertEqual(self.check('exit', 'exit').returncode, 3)

    def test_uncaught_exception(self):
        proc = self.check('exception', 'uncaught exception')
        self.assertEqual(proc.returncode, -signal.SIGABRT)
        self.assertIn('nobody catches this', proc.stderr)

    def test_stack_overflow(self):
        proc = self.check('overflow', 'stack overflow')
        self.assertLess(proc.returncode, 0)
        self.assertIn('stack overflow in task', proc.stderr)


if __name__ == '__main__':
    SCENARIOS = sys.argv.pop(1)
    unittest.main(verbosity=2)
