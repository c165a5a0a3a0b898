"""r1k data layer: one record schema shared by every command, harness task and trainer."""

from .schema import ANSWER_TYPES, DIRECTIONS, Record, read_records, write_records

__all__ = ["ANSWER_TYPES", "DIRECTIONS", "Record", "read_records", "write_records"]
