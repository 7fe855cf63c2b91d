"""The school office's pages (site admins): conference windows and interpreters, the families
who have not booked and reminders to them, the messages' delivery report, the window's figures
as charts, and how long before each conference families are reminded of it."""
