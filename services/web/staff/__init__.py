"""The staff pages: signing in through the district's identity provider (or, in development,
as a demo person), and the teacher's conference day and review queue."""
