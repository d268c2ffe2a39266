# Reference numbers from R's mclust for gmmkit's noise component
# (GaussianMixture(noise_init=...), select_model(noise_init=...)).
#
# Run from the repository root (needs r-base-core, r-cran-mclust,
# r-cran-jsonlite, r-cran-mass):
#
#     Rscript tests/mclust/make_noise_reference.R
#
# It writes tests/mclust/noise_reference.json with, for each dataset:
#   data      the rows (so the Python tests use exactly R's numbers)
#   noise     the initial noise mask (logical, one entry per row)
#   subset    (optional) 1-based rows of mclust's initial subset
#   prior     true when the fits use priorControl()
#   hypvol    hypvol(data): the noise component's default hypervolume
#   G         the numbers of components of the table (0 = noise only)
#   bic       mclustBIC(data, G, initialization = list(noise = ...))
#             in mclust's sign, one list per model, null where NA
#   best      Mclust's choice with that table: model, G, loglik, bic, icl,
#             df, pro (G + 1 entries, noise last), mean (d x G), sigma
#             (d x d x G), z (n x (G + 1)), classification (0 = noise)
suppressMessages({
  library(mclust)
  library(jsonlite)
})

stopifnot(packageVersion("mclust") >= "6.0.0")
stopifnot(mclust.options("hcUse") == "SVD", mclust.options("subset") == 2000)

bic_table <- function(B) {
  out <- list()
  for (m in colnames(B)) {
    v <- as.numeric(B[, m])
    out[[m]] <- lapply(v, function(x) if (is.na(x)) NULL else x)
  }
  out
}

reference <- function(X, noise, G = 0:9, models = NULL, subset = NULL,
                      prior = FALSE) {
  X <- as.matrix(X)
  dimnames(X) <- NULL
  init <- list(noise = noise)
  if (!is.null(subset)) init$subset <- subset
  args <- list(data = X, G = G, initialization = init, verbose = FALSE)
  if (!is.null(models)) args$modelNames <- models
  if (prior) args$prior <- priorControl()
  B <- do.call(mclustBIC, args)
  fit <- Mclust(X, x = B, verbose = FALSE)
  entry <- list(data = X, n = nrow(X), d = ncol(X), noise = noise, G = G,
                prior = prior, hypvol = hypvol(X))
  if (!is.null(subset)) entry$subset <- as.integer(subset)
  entry$bic <- bic_table(B)
  entry$models <- colnames(B)
  p <- fit$parameters
  entry$best <- list(
    model = fit$modelName, G = fit$G, loglik = fit$loglik, bic = fit$bic,
    icl = fit$icl, df = fit$df, pro = p$pro, Vinv = p$Vinv,
    mean = p$mean, sigma = p$variance$sigma, z = fit$z,
    classification = as.integer(fit$classification)
  )
  entry
}

# Uniform noise over the data's bounding box, added to a dataset.
with_noise <- function(X, m, seed) {
  set.seed(seed)
  X <- as.matrix(X)
  lo <- apply(X, 2, min)
  hi <- apply(X, 2, max)
  U <- sapply(seq_len(ncol(X)), function(j) runif(m, lo[j], hi[j]))
  rbind(X, matrix(U, m))
}

# A rough initial guess of the noise as mclust's vignette suggests it: rows
# far from their nearest neighbours (distance to the 5th neighbour in the
# top 15%), plus a few random rows.
guess_noise <- function(X, seed) {
  D <- as.matrix(dist(X))
  k5 <- apply(D, 1, function(r) sort(r)[6])
  set.seed(seed)
  guess <- k5 > quantile(k5, 0.85)
  guess[sample(nrow(X), 5)] <- TRUE
  guess
}

faithful_noise <- round(with_noise(faithful, 60, 1), 3)

set.seed(20261123)
gen3 <- rbind(
  MASS::mvrnorm(120, c(0, 0, 0), matrix(c(1, .6, 0, .6, 1, .2, 0, .2, .5), 3)),
  MASS::mvrnorm(80, c(4, 1, -2), diag(c(.3, 1.5, .8))),
  MASS::mvrnorm(50, c(-2, 5, 2), matrix(c(.5, -.3, .1, -.3, .9, 0, .1, 0, .4), 3))
)
gen3_noise <- round(with_noise(gen3, 50, 2), 4)

set.seed(7)
oned <- c(rnorm(150, 0, 1), rnorm(100, 5, 0.7))
oned_noise <- round(with_noise(matrix(oned), 40, 3), 4)

iris4 <- as.matrix(iris[, 1:4])

# Long data: mclust clusters an initial subset (given here, so that the
# Python tests can use the same rows), the noise rows removed from it.
set.seed(11)
long <- rbind(
  MASS::mvrnorm(1200, c(0, 0), matrix(c(1, .5, .5, 1), 2)),
  MASS::mvrnorm(900, c(5, 2), diag(c(.5, 2)))
)
long_noise <- round(with_noise(long, 200, 4), 4)
set.seed(12)
long_subset <- sort(sample(nrow(long_noise), 2000))

out <- list(
  faithful = reference(faithful_noise, guess_noise(faithful_noise, 10)),
  gen3 = reference(gen3_noise, guess_noise(gen3_noise, 20)),
  oned = reference(oned_noise, guess_noise(oned_noise, 30)),
  iris = reference(iris4, guess_noise(iris4, 40), G = 0:4),
  faithful_prior = reference(faithful_noise, guess_noise(faithful_noise, 10),
                             G = 0:5, prior = TRUE),
  long = reference(long_noise, guess_noise(long_noise, 50), G = 0:4,
                   models = c("EII", "VVI", "EEE", "VVV"), subset = long_subset)
)

write_json(list(mclust_version = as.character(packageVersion("mclust")),
                datasets = out),
           "tests/mclust/noise_reference.json", digits = NA, auto_unbox = TRUE,
           matrix = "rowmajor", null = "null", na = "null")
