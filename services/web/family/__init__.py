"""The family pages: sign in with the family's link, book, move or cancel a conference, join the
waitlist, add it to a calendar."""
