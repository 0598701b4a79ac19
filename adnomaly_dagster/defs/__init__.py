"""Definitions by domain; dg loads every module of these folders (see ../definitions.py)."""
