"""``python -m classifier``: the classifier's command line."""

from .cli import classifier_cli

if __name__ == "__main__":
    classifier_cli(prog_name="python -m classifier")
