"""The `coea` command line (click). Subcommands live in their own modules; see main.py."""
