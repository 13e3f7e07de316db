# Reference values for tests/research/test_ordinal.py: polychoric correlations, ordinal
# alpha and omega (R psych) and categorical omega (lavaan + semTools).
#
# Run from this folder:  Rscript reference.R > reference.out
# The output is Python literals, pasted verbatim into tests/research/ordinalref.py (a test
# checks they match this file's output); the tests themselves never need R.
suppressPackageStartupMessages({
  library(psych)
  library(lavaan)
  library(semTools)
})
cat(sprintf("# %s, psych %s, lavaan %s, semTools %s, mnormt %s\n", R.version.string,
            packageVersion("psych"), packageVersion("lavaan"), packageVersion("semTools"),
            packageVersion("mnormt")))

pad <- "    "
say <- function(name, v) {
  v <- ifelse(is.infinite(v), ifelse(v > 0, "inf", "-inf"), sprintf("%.15g", v))
  cat(sprintf("%s%s=(\n", pad, name))
  for (chunk in split(v, ceiling(seq_along(v) / 4))) {
    cat(sprintf("%s    %s,\n", pad, paste(chunk, collapse = ", ")))
  }
  cat(sprintf("%s),\n", pad))
}

# Every warning and message, in order, so that the tests can check what psych said.
said <- character()
quietly <- function(expr) withCallingHandlers(expr,
  warning = function(w) { said <<- c(said, conditionMessage(w)); invokeRestart("muffleWarning") },
  message = function(m) { said <<- c(said, trimws(conditionMessage(m))); invokeRestart("muffleMessage") })

# missing: lavaan's `missing` for the categorical model; "pairwise" matches alliance (and
# psych): thresholds from every answer to an item, each polychoric from the rows answering
# both (lavaan's default for ordered items is listwise deletion).
reference <- function(name, categorical = TRUE, missing = "listwise") {
  x <- read.csv(paste0(name, ".csv"))
  said <<- character()
  raw <- quietly(polychoric(x, smooth = FALSE))
  said_poly <- said
  p <- quietly(polychoric(x))
  said_poly <- unique(c(said_poly, said))
  # alpha also prints advice about keys (cat): kept out of the output
  invisible(capture.output(a <- quietly(alpha(p$rho))))
  invisible(capture.output(o <- quietly(omega(x, nfactors = 1, poly = TRUE, plot = FALSE))))
  cat(sprintf("%s=dict(\n", toupper(name)))
  # rho by rows of the lower triangle: (2,1), (3,1), (3,2), ...
  say("rho", p$rho[lower.tri(p$rho)])
  say("raw", raw$rho[lower.tri(raw$rho)])
  say("tau", t(p$tau))  # item by item
  cat(sprintf("%stau_shape=(%d, %d),\n", pad, nrow(p$tau), ncol(p$tau)))
  say("ordinal_alpha", a$total$raw_alpha)
  say("ordinal_omega", o$omega.tot)
  cat(sprintf("%swarnings=(\n", pad))
  for (s in unique(said_poly)) cat(sprintf("%s    %s,\n", pad, encodeString(s, quote = '"')))
  cat(sprintf("%s),\n", pad))
  if (categorical) {
    model <- paste("f =~", paste(names(x), collapse = " + "))
    fit <- cfa(model, data = x, ordered = names(x), std.lv = TRUE, missing = missing)
    say("categorical_omega", compRelSEM(fit, ord.scale = TRUE)[["f"]])
    say("lavaan_loadings", lavInspect(fit, "std")$lambda[, 1])
    say("lavaan_rho", lavInspect(fit, "sampstat")$cov[lower.tri(diag(ncol(x)))])
  }
  cat(")\n")
}

reference("five")
reference("seven")
reference("unequal")
reference("gap")
reference("missing", missing = "pairwise")
reference("smooth", categorical = FALSE)
