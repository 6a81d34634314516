"""What stands in for the real world at small scale: the tiny COMET checkpoint, the mini world and its lexicon, the
synthetic release of the authors' outputs, the rehearsal's lexicon, model families and local hub.

May import: `alma_core.io`, `recipe`, `reported`, `runs`. Must not import params, jobs, book or rehearsal.
"""
