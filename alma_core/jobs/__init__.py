"""THE job layer: a job spec becomes a store key and a folder (`core`), is ensured, rendered or started through
`launch` (python / torchrun / deepspeed / accelerate / sbatch), and its results land in the `store`; what jobs start
from is built once (`assets`: the tiny backbone, the mini world, the data root), the two-stage chapters declare
their whole graph (`graphs`), and derived data (`variants`), the authors' released outputs and App. J's scoring
jobs go through the same path.

May import: `alma_core.io`, `alma_core.provenance`, `recipe`, `reported`, `runs`, `standins`, `params`.
Must not import book or rehearsal.
"""
