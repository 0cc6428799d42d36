"""Tests of the deployment in deploy/: receivers behind nginx."""
