"""The repo-tool command: repository operations, builds, fetches and runs."""
