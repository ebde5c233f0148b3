"""`python -m telephonist` is the `telephonist` command."""

from telephonist.cli import main

raise SystemExit(main())
