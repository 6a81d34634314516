"""The typed schema of every `params/<profile>/<notebook>.yaml` (`schemas`), its building blocks (`common`), the
sweeps' schemas (`sweeps`) and the released-outputs chapter's (`released`); `python -m alma_core.params FILE.yaml`
validates a params file. Validation reads and checks; it writes nothing.

May import: `alma_core.io`, `recipe`, `reported`, `runs`, `standins`. Must not import jobs, book or rehearsal: the
job layer reads params, never the other way round.
"""
