"""Django's SQLite backend, with turns for writers while a bulk writer writes its batches (base.py)."""
