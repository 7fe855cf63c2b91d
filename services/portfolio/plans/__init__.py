"""The conference plan: the agenda a student assembles and leads, marked ready by the teacher."""
