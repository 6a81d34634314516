"""The paper's own numbers (Tables 1-12 of Xu et al.) as data (`table_NN.csv`) and tidy frames (`paper`).

May import: `alma_core.io`. Must not import anything that runs or renders: these are the paper's figures, never
this build's.
"""
