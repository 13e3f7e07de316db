# Reference values for tests/research/test_psychometrics.py, computed with R psych.
#
# Run from this folder:  Rscript reference.R > reference.out
# Used for the pinned values: R 4.2.2 Patched (2022-11-10 r83330), psych 2.2.9,
# nlme 3.1.162, GPArotation 2022.10.2 (Debian packages r-base-core and r-cran-psych).
# The output is Python literals, pasted verbatim into the test file (a test checks they
# match this file's output); the tests themselves never need R.
suppressPackageStartupMessages(library(psych))
cat(sprintf("# %s, psych %s\n", R.version.string, packageVersion("psych")))

# Python literals, at most four numbers to a line so that they fit the project's line length.
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

# Descriptives of the scale score on complete cases: sum or mean of the keyed items.
describe_score <- function(x, lo, hi, method) {
  cc <- x[complete.cases(x), ]
  k <- ncol(x)
  s <- if (method == "sum") rowSums(cc) else rowMeans(cc)
  smin <- if (method == "sum") k * lo else lo
  smax <- if (method == "sum") k * hi else hi
  say("n_complete", nrow(cc))
  say("mean", mean(s))
  say("sd", sd(s))
  say("floor_pct", 100 * mean(abs(s - smin) < 1e-9))
  say("ceiling_pct", 100 * mean(abs(s - smax) < 1e-9))
}

alpha_block <- function(x) {
  a <- alpha(x, warnings = FALSE)
  say("raw_alpha", a$total$raw_alpha)
  say("std_alpha", a$total$std.alpha)
  say("ci", c(a$feldt$lower.ci, a$feldt$upper.ci))
  say("n", a$item.stats$n)
  say("item_mean", a$item.stats$mean)
  say("item_sd", a$item.stats$sd)
  say("r_drop", a$item.stats$r.drop)
  say("alpha_drop", a$alpha.drop$raw_alpha)
  say("std_alpha_drop", a$alpha.drop$std.alpha)
}

sets <- list(
  six_items = list(lo = 1, hi = 5, method = "mean"),
  unreversed = list(lo = 1, hi = 7, method = "sum"),
  ceiling = list(lo = 0, hi = 4, method = "sum")
)
for (name in names(sets)) {
  x <- read.csv(paste0(name, ".csv"))
  s <- sets[[name]]
  cat(sprintf("%s = dict(\n", toupper(name)))
  describe_score(x, s$lo, s$hi, s$method)
  alpha_block(x)  # psych's default: pairwise covariances, n = every row
  cat("    complete=dict(\n")
  pad <<- "        "
  alpha_block(x[complete.cases(x), ])  # listwise deletion
  pad <<- "    "
  cat("    ),\n")
  f <- fa(x, nfactors = 1, fm = "minres")
  say("loadings", as.vector(f$loadings))
  say("u2", f$uniquenesses)
  om <- suppressMessages(suppressWarnings(omega(x, nfactors = 1, plot = FALSE)))
  say("omega_tot", om$omega.tot)
  say("omega_h", om$omega_h)
  om <- suppressMessages(suppressWarnings(omega(x, nfactors = 1, plot = FALSE, flip = FALSE)))
  say("omega_tot_noflip", om$omega.tot)
  cat(")\n")
}

# Repeated measures, balanced: psych::mlr (ANOVA components) and ICCs of the sum score.
s <- read.csv("sessions.csv")
m <- mlr(s, grp = "client", Time = "session", items = 3:6, alpha = FALSE, plot = FALSE)
cat("SESSIONS = dict(\n")
say("components", m$components[1:7, 1])  # ID, Time, Items, ID x time, ID x items, time x items, Residual
say("RkF", m$RkF)
say("R1R", m$R1R)
say("RkR", m$RkR)
say("Rc", m$Rc)
say("RkRn", m$RkRn)
say("Rcn", m$Rcn)
# statsBy needs more than one variable besides the group; the items ride along.
total <- data.frame(s[c("client", "i1", "i2")], total = rowSums(s[3:6]))
sb <- statsBy(total, "client")
say("ICC1", sb$ICC1["total"])
say("ICC2", sb$ICC2["total"])
wide <- reshape(data.frame(client = s$client, session = s$session, total = total$total),
                idvar = "client", timevar = "session", direction = "wide")
icc <- ICC(wide[, -1], lmer = FALSE)  # the ANOVA, not lme4
say("ICC_shrout_fleiss_1_1", icc$results["Single_raters_absolute", "ICC"])
cat(")\n")

# Repeated measures, unbalanced with blanks: ICCs of the sum score (complete rows).
u <- read.csv("sessions_unbalanced.csv")
total <- data.frame(u[c("client", "i1", "i2")], total = rowSums(u[3:6]))  # NA if a blank
sb <- statsBy(total, "client")
cat("UNBALANCED = dict(\n")
say("ICC1", sb$ICC1["total"])
say("ICC2", sb$ICC2["total"])
cat(")\n")

# Feldt's interval by hand: F quantiles for n = 10 rows, k = 3 items.
cat("FELDT = dict(\n")
say("qf", c(qf(0.975, 9, 18), qf(0.025, 9, 18)))
say("ci", unlist(alpha.ci(0.8, 10, 3)[c("lower.ci", "upper.ci")]))
cat(")\n")

# A Heywood case (the first loading above 1): psych's optimiser stops short of the minimum
# here, so the test checks that ours is at least as good, not that the loadings agree.
R <- matrix(c(1, .9, .9, .3, .9, 1, .5, .3, .9, .5, 1, .3, .3, .3, .3, 1), 4)
f <- suppressMessages(suppressWarnings(fa(R, nfactors = 1, fm = "minres")))
cat("HEYWOOD = dict(\n")
say("loadings", as.vector(f$loadings))
cat(")\n")
