"""Stable error codes of the request edge (core/middleware.py)."""

NUL_CHARACTER = "nul_character"
