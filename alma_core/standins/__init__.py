"""What stands in for the real world at small scale: the tiny COMET checkpoint, THE lexicon, the mini
world, the rehearsal's sentences (in the mini world's grammar), the synthetic release of the authors' outputs, model
families and local hub.

May import: `alma_core.io`, `recipe`, `reported`, `runs`. Must not import params, jobs, book or rehearsal.
"""
