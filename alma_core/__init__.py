"""ALMA Companion core library: the two-stage ALMA recipe (Xu et al.), tested and small."""

__version__ = "0.1.0"
