"""The family pages: sign in with the family's link, book, move or cancel a conference, join the
waitlist, add it to a calendar; see a child's portfolio, give feedback after the conference,
and choose how the school sends messages."""
