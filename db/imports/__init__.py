"""Data that comes in from files and services: M-Pesa statements and callbacks, and the bulk import templates.

Every importer streams its file, validates each row before anything is written, writes each row in its own
transaction keyed so that a second run skips what is done, reports every row's outcome and calls a progress
callback; the command line (`astrofin import …`) and the back office's import screen both drive them.
"""
