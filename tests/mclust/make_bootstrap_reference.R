# Reference numbers from R's mclust for gmmkit.bootstrap_lrt and
# gmmkit.bootstrap (mclustBootstrapLRT and MclustBootstrap).
#
# Run from the repository root (needs r-base-core, r-cran-mclust,
# r-cran-jsonlite, r-cran-mass):
#
#     Rscript tests/mclust/make_bootstrap_reference.R
#
# It writes tests/mclust/bootstrap_reference.json with
#   lrt:  for each case
#     data      the rows (so the Python tests use exactly R's numbers)
#     model     mclust's modelName
#     maxG      mclust's maxG (null: the sequential test at level 0.05)
#     loglik    Mclust's log-likelihood for G = 1 .. max(G) + 1
#     G         the numbers of components tested (K against K + 1)
#     obs       the observed LRT statistics
#     nboot     replications; p_value: mclust's bootstrap p-values
#     boot      the bootstrap LRT statistics, one list per tested G
#   boot: for each case
#     data, model, G      the data and the Mclust fit that is bootstrapped
#     loglik, pro, mean (d x G), variance (d x d x G)   that fit
#     nboot               replications
#     bs, wlbs, pb        per MclustBootstrap type: se_pro, se_mean (d x G),
#                         se_variance (d x d x G), ci_pro (2 x G: lower,
#                         upper), ci_mean (2 x d x G), nonfit
suppressMessages({
  library(mclust)
  library(jsonlite)
})

stopifnot(packageVersion("mclust") >= "6.0.0")
stopifnot(mclust.options("hcUse") == "SVD", mclust.options("subset") == 2000)

lrt_case <- function(X, model, maxG, nboot, seed) {
  X <- as.matrix(X)
  dimnames(X) <- NULL
  set.seed(seed)
  b <- mclustBootstrapLRT(X, modelName = model, nboot = nboot, maxG = maxG,
                          verbose = FALSE)
  top <- max(b$G) + 1
  loglik <- sapply(seq_len(top), function(g)
    Mclust(X, G = g, modelNames = model, verbose = FALSE)$loglik)
  boot <- lapply(seq_along(b$G), function(j) as.numeric(b$boot[, j]))
  list(data = X, n = nrow(X), d = ncol(X), model = model, maxG = maxG,
       loglik = loglik, G = as.integer(b$G), obs = as.numeric(b$obs),
       nboot = nboot, p_value = as.numeric(b$p.value), boot = boot)
}

boot_case <- function(X, model, G, nboot, seed) {
  X <- as.matrix(X)
  dimnames(X) <- NULL
  fit <- Mclust(X, G = G, modelNames = model, verbose = FALSE)
  p <- fit$parameters
  entry <- list(data = X, n = nrow(X), d = ncol(X), model = model, G = G,
                loglik = fit$loglik, pro = p$pro,
                mean = matrix(p$mean, ncol(X)),
                variance = array(p$variance$sigma, c(ncol(X), ncol(X), G)),
                nboot = nboot)
  for (type in c("bs", "wlbs", "pb")) {
    set.seed(seed)
    b <- MclustBootstrap(fit, nboot = nboot, type = type, verbose = FALSE)
    se <- summary(b, what = "se")
    ci <- summary(b, what = "ci")
    entry[[type]] <- list(
      se_pro = as.numeric(se$pro),
      se_mean = matrix(se$mean, ncol(X)),
      se_variance = array(se$variance, c(ncol(X), ncol(X), G)),
      ci_pro = matrix(ci$pro, 2),
      ci_mean = array(ci$mean, c(2, ncol(X), G)),
      nonfit = b$nonfit
    )
  }
  entry
}

set.seed(20261201)
gen3 <- rbind(
  MASS::mvrnorm(100, c(0, 0), matrix(c(1, .5, .5, 1), 2)),
  MASS::mvrnorm(80, c(3.5, 1), diag(c(.4, 1.2))),
  MASS::mvrnorm(60, c(-1, 4), matrix(c(.6, -.2, -.2, .5), 2))
)
gen3 <- round(gen3, 4)

set.seed(5)
oned <- round(c(rnorm(120, 0, 1), rnorm(80, 3.2, 0.8)), 4)

acid <- acidity
iris4 <- as.matrix(iris[, 1:4])

lrt <- list(
  faithful = lrt_case(faithful, "VVV", 3, 999, 1),
  iris = lrt_case(iris4, "EEE", 3, 999, 2),
  gen3 = lrt_case(gen3, "VVI", 3, 999, 3),
  acidity = lrt_case(acid, "V", 3, 999, 4),
  oned_sequential = lrt_case(oned, "E", NULL, 999, 5)
)

boot <- list(
  faithful = boot_case(faithful, "VVV", 2, 999, 11),
  gen3 = boot_case(gen3, "EEE", 3, 999, 12),
  acidity = boot_case(acid, "V", 2, 999, 13)
)

write_json(list(mclust_version = as.character(packageVersion("mclust")),
                lrt = lrt, boot = boot),
           "tests/mclust/bootstrap_reference.json", digits = NA,
           auto_unbox = TRUE, matrix = "rowmajor", null = "null", na = "null")
