"""Family feedback: opened when a conference is completed, recorded against the student's goals."""
