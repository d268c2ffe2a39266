# Reference numbers from R's mclust for gmmkit's hierarchical start
# (init_params="hc") and for gmmkit.select_model.
#
# Run from the repository root (needs r-base-core, r-cran-mclust,
# r-cran-jsonlite):
#
#     Rscript tests/mclust/make_hc_reference.R
#
# It writes tests/mclust/hc_reference.json with, for each dataset:
#   data            the rows, so the Python tests use exactly R's numbers
#   hc              hclass(hc(data, "VVV", use = "SVD"), 1:9): the partitions
#                   cut from mclust's hierarchical tree (its default start;
#                   "EII" instead of "VVV" when nrow <= ncol, as in Mclust)
#   qclass          (1-D data only) qclass(x, G) for G = 1..9, mclust's 1-D start
#   bic             Mclust(data)$BIC: one row per model, one column per G,
#                   in mclust's sign (higher is better), null where mclust
#                   could not fit (NA)
#   best            the model Mclust chose: name, G, loglik, bic, icl, df
suppressMessages({
  library(mclust)
  library(jsonlite)
})

stopifnot(packageVersion("mclust") >= "6.0.0")
stopifnot(mclust.options("hcUse") == "SVD", mclust.options("subset") == 2000)

G <- 1:9

bic_table <- function(B) {
  out <- list()
  for (m in colnames(B)) {
    v <- as.numeric(B[, m])
    out[[m]] <- lapply(v, function(x) if (is.na(x)) NULL else x)
  }
  out
}

reference <- function(X, subset = NULL) {
  X <- as.matrix(X)
  dimnames(X) <- NULL
  entry <- list(data = X, n = nrow(X), d = ncol(X), G = G)
  if (ncol(X) > 1) {
    # As Mclust: VVV, or EII when there are no more rows than columns.
    tree <- hc(X, modelName = if (nrow(X) > ncol(X)) "VVV" else "EII", use = "SVD")
    cl <- hclass(tree, G)
    entry$hc <- lapply(G, function(g) as.integer(cl[, as.character(g)]))
  } else {
    entry$qclass <- lapply(G, function(g) as.integer(mclust:::qclass(X[, 1], g)))
  }
  if (is.null(subset)) {
    fit <- Mclust(X, G = G, verbose = FALSE)
  } else {
    entry$subset <- as.integer(subset)  # 1-based row numbers
    fit <- Mclust(X, G = G, verbose = FALSE,
                  initialization = list(subset = subset))
  }
  entry$bic <- bic_table(fit$BIC)
  entry$models <- colnames(fit$BIC)
  entry$best <- list(model = fit$modelName, G = fit$G, loglik = fit$loglik,
                     bic = fit$bic, icl = fit$icl, df = fit$df)
  entry
}

# A generated 3-D dataset: three ellipsoidal clusters of different sizes.
set.seed(20261123)
gen3 <- rbind(
  MASS::mvrnorm(120, c(0, 0, 0), matrix(c(1, .6, 0, .6, 1, .2, 0, .2, .5), 3)),
  MASS::mvrnorm(80, c(4, 1, -2), diag(c(.3, 1.5, .8))),
  MASS::mvrnorm(50, c(-2, 5, 2), matrix(c(.5, -.3, .1, -.3, .9, 0, .1, 0, .4), 3))
)
gen3 <- round(gen3, 4)

# A 1-D dataset (mclust starts 1-D fits from quantile classes).
set.seed(7)
oned <- round(c(rnorm(150, 0, 1), rnorm(100, 5, 0.7), rnorm(60, 9, 1.5)), 4)

# No more rows than columns: Mclust tries only the spherical and diagonal
# models and builds its tree with the EII criterion.
set.seed(3)
wide <- matrix(round(c(rnorm(7 * 15, 0, 1), rnorm(5 * 15, 2, 1)), 3), 12, 15, byrow = TRUE)

# More rows than mclust.options("subset") = 2000: mclust runs hc on a subset
# of 2000 rows.  The subset is fixed here so gmmkit can be given the same rows.
set.seed(11)
big <- round(rbind(
  MASS::mvrnorm(1500, c(0, 0), matrix(c(1, .5, .5, 1), 2)),
  MASS::mvrnorm(1000, c(3, 3), diag(c(.5, 2)))
), 4)
big_subset <- sort(sample(seq_len(nrow(big)), 2000))

out <- list(
  mclust_version = as.character(packageVersion("mclust")),
  datasets = list(
    faithful = reference(faithful),
    iris = reference(iris[, 1:4]),
    gen3 = reference(gen3),
    oned = reference(matrix(oned, ncol = 1)),
    wide = reference(wide),
    big = reference(big, subset = big_subset)
  )
)
out$datasets$big$hc <- NULL  # the full-data tree is not what Mclust uses here
tree <- hc(big[big_subset, ], modelName = "VVV", use = "SVD")
cl <- hclass(tree, G)
out$datasets$big$hc_subset <- lapply(G, function(g) as.integer(cl[, as.character(g)]))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", matrix = "rowmajor"),
           "tests/mclust/hc_reference.json")
cat("wrote tests/mclust/hc_reference.json\n")
