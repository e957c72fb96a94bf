#!/usr/bin/env python3
"""Checks scripts/coscope-timeline against traces of trace_scenarios.

    check_timeline.py TRACE_SCENARIOS TIMELINE [--png]

Draws each scenario's JSON trace and reads the SVG back: it parses, has a
box per task run in its processers' lanes, an arrow per wake whose task ran
again, a time axis and a legend, and folds a few hundred tasks into a lane
per name. With --png: the PNG is written and is a PNG (exit status 77, a
skip, when the machine has no SVG renderer).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

SCENARIOS = TIMELINE = None
SVG = '{http://www.w3.org/2000/svg}'


def trace_and_picture(scenario, directory, *options):
    trace_path = os.path.join(directory, scenario + '.json')
    subprocess.run([SCENARIOS, scenario], env=dict(os.environ, COSCOPE_TRACE=trace_path),
                   check=True, capture_output=True, timeout=60)
    svg_path = os.path.join(directory, scenario + '.svg')
    subprocess.run([sys.executable, TIMELINE, trace_path, '-o', svg_path] + list(options), check=True, timeout=120)
    with open(trace_path) as f:
        trace = json.load(f)['traceEvents']
    return trace, ET.parse(svg_path).getroot()


def with_class(root, tag, cls):
    return [e for e in root.iter(SVG + tag) if cls in e.get('class', '').split()]


class EveryEvent(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with tempfile.TemporaryDirectory() as d:
            cls.trace, cls.svg = trace_and_picture('every-event', d, '--title', 'every event')

    def texts(self):
        return [t.text for t in self.svg.iter(SVG + 'text')]

    def test_every_run_is_drawn(self):
        runs = [e for e in self.trace if e['ph'] == 'X' and e.get('cat') == 'run']
        boxes = with_class(self.svg, 'rect', 'run')
        self.assertEqual(sum(int(b.get('data-runs')) for b in boxes), len(runs))
        single = [int(b.get('data-task')) for b in boxes if b.get('data-runs') == '1']
        self.assertLessEqual(set(single), {e['args']['task'] for e in runs})

    def test_lanes(self):
        texts = self.texts()
        for lane in ('timer', 'reactor', 'task 1 reader', 'task 3 receiver'):
            self.assertIn(lane, texts)
        processers = [t for t in texts if t.startswith('processer ')]
        self.assertEqual(len(processers), 3, processers)

    def test_an_arrow_per_wake(self):
        runs = [e for e in self.trace if e['ph'] == 'X' and e.get('cat') == 'run']
        ends = [e for e in self.trace if e['ph'] == 'f']
        ran_again = [f for f in ends
                     if any(r['args']['task'] == f['pid'] - 1000 and r['ts'] >= f['ts'] - 0.001 for r in runs)]
        arrows = with_class(self.svg, 'path', 'wake')
        self.assertEqual(len(arrows), len(ran_again))
        kinds = {a.get('class').split()[1] for a in arrows}
        self.assertLessEqual({'timer', 'reactor', 'task', 'close'}, kinds)

    def test_axis_and_legend(self):
        ticks = [t.text for t in with_class(self.svg, 'text', 'tick')]
        self.assertEqual(ticks[0], '0 ms')
        self.assertGreaterEqual(len(ticks), 3)
        legend = {t.text for t in with_class(self.svg, 'text', 'legend')}
        self.assertLessEqual({'run stopped by sleep', 'wake by timer', 'wake by reactor', 'hooked call'}, legend)
        self.assertEqual(len(with_class(self.svg, 'polyline', 'counter')), 2)


class ManyTasks(unittest.TestCase):
    def test_tasks_of_one_name_share_a_lane(self):
        with tempfile.TemporaryDirectory() as d:
            _, svg = trace_and_picture('many', d, '--max-task-lanes', '10')
        texts = [t.text for t in svg.iter(SVG + 'text')]
        # Runs shorter than a pixel, side by side, share a box.
        boxes = with_class(svg, 'rect', 'run')
        runs = sum(int(b.get('data-runs')) for b in boxes)
        self.assertGreater(runs, 600)
        self.assertLess(len(boxes), runs / 2)
        self.assertIn('worker (300 tasks)', texts)
        self.assertIn('loner (1 tasks)', texts)
        self.assertNotIn('task 1 worker', texts)
        self.assertLess(int(svg.get('height')), 800)


def check_png():
    with tempfile.TemporaryDirectory() as d:
        trace_path = os.path.join(d, 'run.json')
        subprocess.run([SCENARIOS, 'every-event'], env=dict(os.environ, COSCOPE_TRACE=trace_path),
                       check=True, capture_output=True, timeout=60)
        png = os.path.join(d, 'run.png')
        r = subprocess.run([sys.executable, TIMELINE, trace_path, '-o', png], timeout=120)
        if r.returncode == 3:
            print('no SVG renderer on this machine: PNG not checked')
            return 77
        with open(png, 'rb') as f:
            header = f.read(8)
        if r.returncode != 0 or header != b'\x89PNG\r\n\x1a\n' or not os.path.exists(os.path.join(d, 'run.svg')):
            print('no PNG: status %d, header %r' % (r.returncode, header))
            return 1
        print('PNG written: %d bytes' % os.path.getsize(png))
        return 0


if __name__ == '__main__':
    SCENARIOS, TIMELINE = sys.argv.pop(1), sys.argv.pop(1)
    if sys.argv[1:] == ['--png']:
        sys.exit(check_png())
    unittest.main(verbosity=2)
