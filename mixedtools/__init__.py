"""mixedtools: the tested helper package behind the book *Mixed-effects models, executable*."""

__version__ = "0.1.0"

from mixedtools import datasets

__all__ = ["datasets"]
