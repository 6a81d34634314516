"""The paper's recipe (Sections 2-6, App. A, D, E, I, J items): languages, the prompt, training objectives, language
sampling, metrics, data readers, OSCAR streaming and the WMT test sets.

May import: `alma_core.io`, `alma_core.provenance` and each other. Must not import runs, standins, params, jobs, book
or rehearsal: the recipe knows nothing of how or where it runs.
"""
