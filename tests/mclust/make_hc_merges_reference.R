# mclust's full VVV merge sequences, with the criterion change of every
# merge, on small simulated data sets, for gmmkit's test that its tree
# repeats each merge of mclust's hc() (tests/test_hc.py).  Each set is drawn
# here with R's default generator, so the data are in the fixture.  The two
# 240 x 2 sets are ones where a tree built with Fraley's exact criterion
# leaves mclust's sequence near the end.
#
# Run from the repository root (needs r-base-core, r-cran-mclust,
# r-cran-jsonlite):
#
#     Rscript tests/mclust/make_hc_merges_reference.R
#
# It writes tests/mclust/hc_merges_reference.json with, per data set,
#   data     the rows, as R holds them
#   merges   t(hc(data, "VVV", use = "SVD")): the n - 1 merges, 1-based
#   change   the criterion change of each merge: hc() drops it, so it is read
#            from the same compiled routine, called with the arguments
#            mclust:::hcVVV passes it (its merges are checked to be hc()'s)
suppressMessages({
  library(mclust)
  library(jsonlite)
})
stopifnot(packageVersion("mclust") >= "6.0.0")

one_gaussian <- function(seed, n, p) {
  set.seed(seed)
  matrix(rnorm(n * p), n, p)
}
two_groups <- function(seed, n, p) {
  set.seed(seed)
  a <- matrix(rnorm((n %/% 2) * p), ncol = p)
  b <- matrix(rnorm((n - n %/% 2) * p), ncol = p) %*% matrix(rnorm(p * p), p) + 3
  rbind(a, b)
}

# hc(use = "SVD")'s transform (mclust:::hc.default), then hcVVV's call.
svd_use <- function(X) {
  Xs <- scale(X, center = TRUE, scale = TRUE)
  s <- svd(Xs, nu = 0)
  Xs %*% s$v %*% diag(1 / sqrt(s$d))
}
vvv_changes <- function(Y, merges) {
  n <- nrow(Y); p <- ncol(Y); m <- n - 1
  ld <- max(n, n * (n - 1) / 2 + 1, 3 * m)
  alpha <- max(mclust:::traceW(Y / sqrt(n * p)), .Machine$double.eps)
  out <- .Fortran("hcvvv", cbind(Y, 0), as.integer(n), as.integer(p),
                  as.integer(1:n), as.integer(n), as.integer(m),
                  as.double(alpha), as.double(1), double(p), double(p * p),
                  double(p * p), double(p * p), as.integer(ld), double(ld),
                  PACKAGE = "mclust")
  stopifnot(all(out[[1]][1:m, 1:2] == merges))
  out[[14]][1:m]
}

sets <- list(
  gauss2_seed3 = one_gaussian(3, 240, 2),
  gauss2_seed4 = one_gaussian(4, 240, 2),
  groups3_seed3 = two_groups(3, 150, 3),
  gauss4_seed1 = one_gaussian(1, 200, 4)
)
out <- list(mclust_version = as.character(packageVersion("mclust")), datasets = list())
for (name in names(sets)) {
  X <- sets[[name]]
  tree <- hc(X, modelName = "VVV", use = "SVD")
  merges <- unname(t(tree[, ]))
  out$datasets[[name]] <- list(
    data = X, merges = merges, change = vvv_changes(svd_use(X), merges)
  )
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor"),
           "tests/mclust/hc_merges_reference.json")
cat("wrote tests/mclust/hc_merges_reference.json\n")
