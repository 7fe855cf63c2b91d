"""Evidence: the work samples in a student's portfolio, their review and the school's framework."""
