"""The demo story, one module per chapter, told in the order of ``CHAPTERS``.

Each chapter is a module with a ``seed()`` that adds its part of the demo
organisation, reading what earlier chapters made (by slug, username or
title), and changes nothing when run again. To add to the story, write a
module here and name it in ``CHAPTERS`` after the chapters it reads.
"""

CHAPTERS = [
    "demo.chapters.people",
    "demo.chapters.sources",
    "demo.chapters.incidents",
    # Before the post-mortem chapters, which give every reviewed incident its follow-ups.
    "demo.chapters.insights",
    "demo.chapters.experiments",
    "demo.chapters.postmortems",
    "demo.chapters.follow_ups",
    "demo.chapters.last_two_weeks",
    # The sources' deliveries of every deployment the chapters before made.
    "demo.chapters.deliveries",
    # Last: people hear of everything the chapters before recorded.
    "demo.chapters.notifications",
]
