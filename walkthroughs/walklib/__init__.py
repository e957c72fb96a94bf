"""The walkthroughs' runner (walkthroughs/walk) and what a step is made of.

  steps        the notes' five steps; finding and loading walkthroughs/N-*/step.py
  scenes       the parts a step lists in SCENES: Part, Say, Run, Shell, Gdb, Custom
  facts        the facts a step's batch transcript must show, and their check
  runner       playing one step: its scenes, then its facts
  console      what the learner sees; the per-scene transcript
  terminal     running a program on a pty, folding repeated lines
  gdb_session  starting gdb with the toolkit and the driver
  gdb_driver   runs inside gdb: a step's .gdb script, stop by stop
  build        building the step's CMake targets

docs/walkthroughs.md says how to add a step.
"""
