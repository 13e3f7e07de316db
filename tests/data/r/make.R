# Writes wai_sr.csv as a researcher's R session would export it (tests/research/test_batch_rows.py):
# write.csv quotes the header and text cells, leaves numbers unquoted and writes NA for a
# missing value. Run from this folder: Rscript make.R
set.seed(10)
n <- 6
df <- data.frame(
  id = sprintf("P%02d", seq_len(n)),
  group = factor(c("a", "b", NA, "a", "b", "a")),
  age = c(34L, NA, 51L, 29L, 40L, NA)
)
for (i in 1:12) {
  df[[sprintf("wai_sr_%02d", i)]] <- sample(1:5, n, replace = TRUE)
}
df$wai_sr_03[2] <- NA
df$wai_sr_07[5] <- NA
df$wai_sr_12[5] <- NA
write.csv(df, "wai_sr.csv", row.names = FALSE)
