# Reference values for tests/research/test_twolevel.py: the saturated two-level model fitted by
# R lavaan, and Cronbach's alpha of each level's covariance matrix (Geldhof, Preacher &
# Zyphur 2014, Psychological Methods 19(1), 72-91).
#
# Run from this folder:  Rscript twolevel.R > twolevel.out
# Used for the pinned values: R 4.2.2 Patched (2022-11-10 r83330), lavaan 0.6.14 (Debian
# package r-cran-lavaan). The output is Python literals, pasted verbatim into the test file
# (a test checks they match this file's output); the tests themselves never need R.
suppressPackageStartupMessages(library(lavaan))
cat(sprintf("# %s, lavaan %s\n", R.version.string, packageVersion("lavaan")))

pad <- "    "
say <- function(name, v) {
  v <- sprintf("%.15g", v)
  if (length(v) == 1) {
    cat(sprintf("%s%s=(%s,),\n", pad, name, v))
    return(invisible())
  }
  cat(sprintf("%s%s=(\n", pad, name))
  for (chunk in split(v, ceiling(seq_along(v) / 4))) {
    cat(sprintf("%s    %s,\n", pad, paste(chunk, collapse = ", ")))
  }
  cat(sprintf("%s),\n", pad))
}

# Cronbach's formula applied to a covariance matrix: k/(k-1) (1 - tr C / 1'C1).
cronbach <- function(C) {
  k <- ncol(C)
  k / (k - 1) * (1 - sum(diag(C)) / sum(C))
}

# Every variance and covariance free at both levels: the saturated two-level model.
saturated <- function(items) {
  rows <- sapply(seq_along(items), function(i) {
    paste(items[i], "~~", paste(items[i:length(items)], collapse = " + "))
  })
  block <- paste(rows, collapse = "\n")
  paste("level: 1", block, "level: 2", block, sep = "\n")
}

sets <- c(
  twolevel = "TWOLEVEL", twolevel_balanced = "BALANCED",
  sessions = "SESSIONS", sessions_unbalanced = "UNBALANCED"  # Sigma_B not positive definite
)
for (name in names(sets)) {
  d <- read.csv(paste0(name, ".csv"))
  items <- grep("^i[0-9]+$", names(d), value = TRUE)
  # Rows with a blank item are left out (listwise, lavaan's default), as in alliance.
  # lavaan warns about items that do not vary within some clients; that is expected here.
  fit <- suppressWarnings(sem(saturated(items), data = d, cluster = "client", estimator = "ML"))
  stopifnot(lavInspect(fit, "converged"))
  implied <- lavInspect(fit, "implied")
  w <- implied$within$cov
  b <- implied$client$cov
  cat(sprintf("%s = dict(\n", sets[[name]]))
  say("n_rows", nobs(fit))
  say("n_clients", lavInspect(fit, "nclusters"))
  say("within", as.vector(w))  # items x items, column by column
  say("between", as.vector(b))
  say("mean", as.vector(implied$client$mean))
  say("loglik", as.numeric(logLik(fit)))
  say("alpha_within", cronbach(w))
  say("alpha_between", cronbach(b))
  say("min_eigen_between", min(eigen(b)$values))  # negative: not positive definite
  cat(")\n")
}
