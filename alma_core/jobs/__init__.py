"""THE job layer: a job spec becomes a store key and a folder (`core`), is ensured, rendered or started through
`launch` (python / torchrun / deepspeed / accelerate / sbatch), and its results land in the `store`; derived data
(`variants`), the authors' released outputs and App. J's scoring jobs go through the same path.

May import: `alma_core.io`, `alma_core.provenance`, `recipe`, `reported`, `runs`, `standins`, `params` (no
cycle). Must not import book or rehearsal.
"""
