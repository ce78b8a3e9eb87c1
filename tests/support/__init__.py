"""Test helpers shared across test directories: loopback servers that speak real wire formats."""
