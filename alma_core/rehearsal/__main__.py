"""`python -m alma_core.rehearsal`: see alma_core.rehearsal.run."""

from alma_core.rehearsal.run import main

raise SystemExit(main())
