"""The run report: report.html at the end of a run, one self-contained page with inline charts."""
