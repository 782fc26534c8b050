"""AMBER: automated design of deep CNNs for genomic sequences."""

__version__ = "0.1.0"
