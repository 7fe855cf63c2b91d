"""The student's pages (``/student``): add their work with the camera, a file or a recording,
reflect with sentence starters, set goals and record progress, build their conference plan, and
lead the conference from it one step at a time. Made for a tablet or a Chromebook and a young
child: big pictures, short words, one thing per page."""
