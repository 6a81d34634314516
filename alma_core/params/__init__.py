"""The typed schema of every `params/<profile>/<notebook>.yaml` (`schemas`), its building blocks (`common`) and
the sweeps' schemas (`sweeps`); `python -m alma_core.params FILE.yaml` validates a params file.

May import: `alma_core.io`, `recipe`, `reported`, `runs`, `standins`, `jobs` (no cycle). Must not import book or
rehearsal.
"""
