"""`python -m solver ...`: the argument parser (main) and the solve / verify / inspect /
pack / remix commands (commands); the other groups register their own."""
