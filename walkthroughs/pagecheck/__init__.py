"""pagecheck: keeps the pages that quote a run true to a fresh run.

walkthroughs/check-pages is the command; the modules, one concept each:

  markdown     the parts of a page: fenced excerpts, prose, check-pages notes
  normalise    what may differ between two runs (addresses, times, pids, ...)
  excerpts     an excerpt against a transcript: found, or stale and where
  refs         file:line references in prose, against the run
  pictures     the timelines a page shows, drawn by the run
  transcripts  fresh transcripts: a walkthrough step, a gdb session on a fixture
"""
