"""``python worker.py``: start a job worker (see jobs/worker.py and docs/PIPELINE.md)."""

from jobs.worker import main

if __name__ == "__main__":
    main()
