# mclust's hierarchical tree on its `wreath` data (1000 x 2, 14 clusters),
# for gmmkit's test of the VVV tree's merges (tests/test_hc.py).
#
# Run from the repository root (needs r-base-core, r-cran-mclust,
# r-cran-jsonlite):
#
#     Rscript tests/mclust/make_wreath_hc_reference.R
#
# It writes tests/mclust/wreath_hc_reference.json with
#   data     the 1000 rows, as R holds them
#   merges   t(hc(data, "VVV", use = "SVD")): the 999 merges, 1-based rows
#   hclass   hclass(tree, 1:14): the partitions at 1..14 clusters
suppressMessages({
  library(mclust)
  library(jsonlite)
})
stopifnot(packageVersion("mclust") >= "6.0.0")
data(wreath, package = "mclust")
X <- as.matrix(wreath)
dimnames(X) <- NULL
tree <- hc(X, modelName = "VVV", use = "SVD")
cl <- hclass(tree, 1:14)
out <- list(
  mclust_version = as.character(packageVersion("mclust")),
  data = X,
  merges = unname(t(tree[, ])),
  hclass = lapply(1:14, function(g) as.integer(cl[, as.character(g)]))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor"),
           "tests/mclust/wreath_hc_reference.json")
cat("wrote tests/mclust/wreath_hc_reference.json\n")
