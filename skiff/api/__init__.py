"""skiff's object model: msgspec Structs for the served kinds and the pure logic around them.

Imports nothing of skiff and does no I/O. See docs/CONVENTIONS.md.
"""
