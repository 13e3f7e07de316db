"""Careless-response screening (``--quality``, ``alliance quality``): the indices of R
``careless`` per response (:mod:`.indices`), the flags and their counts (:mod:`.screen`),
the thresholds and flag texts (:mod:`.rules`), the two passes of a screened run
(:mod:`.passes`) and the report alone (:mod:`.report`)."""
