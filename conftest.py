"""Fixtures every test package may use: real servers on 127.0.0.1 (SFTP, S3, HTTP, SMTP)."""

pytest_plugins = ["testsupport.fixtures"]
