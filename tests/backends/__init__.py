"""Tests of the storage backends: one contract for all, plus S3 specifics."""
