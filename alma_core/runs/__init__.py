"""What runs (Sections 4-5, App. C): the training config, backbones, stage-1 and stage-2 data, the HF Trainer,
checkpoints, training, beam-search generation and evaluation. `python -m alma_core.runs.train` and
`python -m alma_core.runs.evaluate` are the processes every job starts.

May import: `alma_core.io`, `alma_core.provenance`, `recipe`, `reported`. Must not import standins, params, jobs,
book or rehearsal: a run reads one config file and knows nothing of the store or of chapters.
"""
