from RenalMassAILib.cli import main

raise SystemExit(main())
