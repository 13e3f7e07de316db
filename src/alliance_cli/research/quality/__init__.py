"""Careless-response screening (``--quality``, ``alliance quality``): the indices of R
``careless`` per response (:mod:`.indices`), the flags and their counts (:mod:`.screen`),
and the two passes of a screened run (:mod:`.passes`)."""
