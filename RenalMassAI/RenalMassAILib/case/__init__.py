"""Reading multi-phase CT into a Case, validating it and aligning its phases."""
