"""A class at a glance for its teachers: each student's evidence, reflections, goals and
conference plan, counted in a few queries."""
