"""Portfolio: the roster, and each student's evidence, reflections and goals."""
