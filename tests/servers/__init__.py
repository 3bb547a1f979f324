"""Real servers the test suite starts and stops itself (SeaweedFS for S3)."""
