"""The five steps of the study notes, and the folders that implement them.

A step is written once its folder walkthroughs/N-name/ has a step.py; the
folder's name after "N-" is free. step.py defines:

  TITLE          the step's title in English
  NOTES_HEADING  the notes' own heading for it
  TARGETS        the CMake targets it needs (built by `walk` before it runs)
  SCENES         what it does, in order (walklib/scenes.py)
  FACTS          what its batch transcript must show (walklib/facts.py)
"""

import glob
import importlib.util
import os
import sys

WALKTHROUGHS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The notes' five steps, by number: (their heading, what the step is about).
NOTES_STEPS = {
    1: ("第一步：写一个合适的例子", "A good example: std::cin against sleep"),
    2: ("第二步：Let's Hook a Library Function", "LD_PRELOAD, dlsym(RTLD_NEXT) and their limits"),
    3: ("第三步：跟踪其中一个被hook过的系统调用", "Trace one hooked call in gdb"),
    4: ("第四步：静态分析linux_glic_hook.cpp", "Reading the hooks: connect, sleep, libgo_poll"),
    5: ("第五步：收第四步的烂账", "Settling step 4: man poll, add_into_reactor, libgo_poll"),
}


class StepError(Exception):
    pass


class Step:
    def __init__(self, number, folder):
        self.number = number
        self.folder = folder
        self.folder_name = os.path.basename(folder)
        self.module = None

    def load(self):
        if self.module is None:
            name = "walkthrough_step%d" % self.number
            spec = importlib.util.spec_from_file_location(name, os.path.join(self.folder, "step.py"))
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            for required in ("TITLE", "NOTES_HEADING", "TARGETS", "SCENES", "FACTS"):
                if not hasattr(module, required):
                    raise StepError("walk: %s/step.py does not define %s" % (self.folder_name, required))
            self.module = module
        return self.module

    @property
    def title(self):
        return self.load().TITLE


def written_steps():
    """{number: Step} for every folder N-*/ that has a step.py."""
    steps = {}
    for path in sorted(glob.glob(os.path.join(WALKTHROUGHS, "[0-9]*-*", "step.py"))):
        folder = os.path.dirname(path)
        number = int(os.path.basename(folder).split("-", 1)[0])
        steps[number] = Step(number, folder)
    return steps


def find(number):
    if number not in NOTES_STEPS:
        raise StepError("walk: there is no step %d: the notes have steps 1 to %d (walk --list)"
                        % (number, max(NOTES_STEPS)))
    steps = written_steps()
    if number not in steps:
        raise StepError("walk: step %d (%s) is not written yet; docs/walkthroughs.md lists the steps"
                        % (number, NOTES_STEPS[number][1]))
    return steps[number]
