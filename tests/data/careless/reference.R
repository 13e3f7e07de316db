# Reference values for tests/research/test_quality_r.py, computed with R careless.
#
# careless is not a Debian package (and CRAN is out of reach here): its R sources are
# sourced from a checkout of github.com/cran/careless (version 1.2.2), given as the argument:
#   Rscript reference.R /path/to/careless/R > reference.out
# psych::outlier (which careless::mahad calls) comes from the Debian package r-cran-psych.
# The output is Python literals, pasted verbatim into tests/research/carelessref.py; the
# tests never need R.
suppressPackageStartupMessages(library(psych))
src <- commandArgs(trailingOnly = TRUE)[1]
for (f in c("longstring.R", "irv.R", "mahad.R", "psychsyn.R", "psychant.R")) {
  source(file.path(src, f))
}
cat(sprintf("# %s, psych %s, careless 1.2.2 (sources)\n", R.version.string, packageVersion("psych")))

say <- function(name, v) {
  v <- ifelse(is.na(v), "nan", sprintf("%.15g", v))
  cat(sprintf("%s = (\n", name))
  for (chunk in split(v, ceiling(seq_along(v) / 4))) {
    cat(sprintf("    %s,\n", paste(chunk, collapse = ", ")))
  }
  cat(")\n")
}

x <- as.matrix(read.csv("screen.csv")[, -1])
say("LONGSTRING", longstring(x))
say("IRV", irv(x))
# mahad leaves a row of NAs out, but puts its distances back by position: on the rows
# that are not all NA only (its d_sq[!complete.na] <- … assigns past the filtered length).
keep <- !apply(x, 1, function(r) all(is.na(r)))
d2 <- rep(NA, nrow(x))
d2[keep] <- mahad(x[keep, ], plot = FALSE)
say("MAHAD", d2)
say("MAHAD_P", pchisq(d2, ncol(x), lower.tail = FALSE))
syn <- psychsyn(x, .60, diag = TRUE, resample_na = FALSE)
say("PSYCHSYN", syn$cor)
say("PSYCHSYN_PAIRS", syn$numPairs)
ant <- psychsyn(x, .60, anto = TRUE, diag = TRUE, resample_na = FALSE)
say("PSYCHANT", ant$cor)
say("PSYCHANT_PAIRS", ant$numPairs)
pairs <- get_item_pairs(x, .60)
say("SYNONYM_PAIRS", as.numeric(t(cbind(as.numeric(pairs[, 1]), as.numeric(pairs[, 2])))) - 1)
