"""Repositories: plain calls that open a unit of work, query or call a SQL function, and return dataclasses.

Screens call these from worker threads; nothing here knows about Textual.
"""
