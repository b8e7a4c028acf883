"""The command line: a Typer root with one error boundary (app.py), the only rich user (console.py), and one thin module per command under commands/."""
