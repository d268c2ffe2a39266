# Reference numbers from R's mclust for gmmkit.MixtureDiscriminantAnalysis.
#
# Run from the repository root (needs r-base-core, r-cran-mclust,
# r-cran-jsonlite, r-cran-mass):
#
#     Rscript tests/mclust/make_da_reference.R
#
# It writes tests/mclust/da_reference.json with, for each dataset and for
# modelType "MclustDA" (a mixture per class, chosen by BIC over G = 1:5 and
# every model) and "EDDA" (one Gaussian per class, one covariance model for
# all, chosen by BIC):
#   data, class    the training rows and their labels
#   loglik, df, bic  MclustDA's totals (mclust's sign)
#   models         per class: modelName, G, loglik (MclustDA only)
#   edda_bic       EDDA: the BIC of every covariance model (null where NA)
#   z, predicted   predict(fit)$z on the training rows and its classes
suppressMessages({
  library(mclust)
  library(jsonlite)
})

stopifnot(packageVersion("mclust") >= "6.0.0")

reference <- function(X, cl) {
  X <- as.matrix(X)
  dimnames(X) <- NULL
  cl <- as.factor(cl)
  entry <- list(data = X, class = as.character(cl))
  for (type in c("MclustDA", "EDDA")) {
    fit <- MclustDA(X, cl, modelType = type, verbose = FALSE)
    pred <- predict(fit, X)
    models <- lapply(fit$models, function(m)
      list(model = m$modelName, G = m$G,
           loglik = if (is.null(m$loglik)) NULL else m$loglik))
    out <- list(loglik = fit$loglik, df = fit$df, bic = fit$bic,
                models = models, z = unname(pred$z),
                predicted = as.character(pred$classification))
    if (type == "EDDA") {
      b <- fit$models[[1]]$BIC
      out$edda_bic <- as.list(sapply(b, function(x) if (is.na(x)) NULL else x))
    }
    entry[[type]] <- out
  }
  entry
}

set.seed(2027)
gen2 <- rbind(
  MASS::mvrnorm(90, c(0, 0), matrix(c(1, .7, .7, 1), 2)),
  MASS::mvrnorm(60, c(4, 0), diag(c(.4, 1.5))),
  MASS::mvrnorm(70, c(2, 4), diag(c(1, .3))),
  MASS::mvrnorm(40, c(6, 4), matrix(c(.5, -.3, -.3, .5), 2))
)
gen2 <- round(gen2, 4)
gen2_class <- rep(c("a", "b", "c", "a"), c(90, 60, 70, 40))  # class a: 2 groups

set.seed(99)
oned <- round(c(rnorm(80, 0, 1), rnorm(60, 3, 0.5), rnorm(50, 6, 1)), 4)
oned_class <- rep(c("low", "high", "low"), c(80, 60, 50))

out <- list(
  iris = reference(iris[, 1:4], iris$Species),
  gen2 = reference(gen2, gen2_class),
  oned = reference(matrix(oned), oned_class)
)
write_json(list(mclust_version = as.character(packageVersion("mclust")),
                datasets = out),
           "tests/mclust/da_reference.json", digits = NA, auto_unbox = TRUE,
           matrix = "rowmajor", null = "null", na = "null")
