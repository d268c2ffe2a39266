# Reference numbers for gmmkit's conjugate prior (MAP-EM), made with R's mclust.
#
# Run from the repository root:
#     Rscript tests/mclust/make_prior_reference.R
# It writes tests/mclust/prior_reference.json, which tests/test_prior.py reads
# (the test suite itself does not need R).  For every dataset, component count
# and model that mclust fits with a prior it records
#   * defaultPrior's hyperparameters,
#   * one M-step (mstep) from fixed soft responsibilities z, and the first
#     M-step of EM (me with itmax = 1) from the same z: for EEI, EVI and EEV
#     mclust's EM uses a MAP M-step that differs from its mstep's,
#   * EM (me) from mclust's hierarchical start: log-likelihood, iterations,
#     parameters, and the log-likelihood of those parameters per estep,
# plus a few explicit (non-default) priors and mclustBIC tables with a prior.
suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})

prior_models_multi <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI",
                        "EEE", "EEV", "VEV", "VVV")
no_prior_models <- c("EVE", "VEE", "VVE", "EVV")

set.seed(20071)
soft_z <- function(n, G) {
  z <- matrix(rexp(n * G), n, G)
  z / rowSums(z)
}

# Parameters in gmmkit's layout: means (G, d), covariances (G, d, d).
params_out <- function(par, d, G) {
  mu <- matrix(par$mean, nrow = d)
  if (d == 1) {
    sig <- rep_len(par$variance$sigmasq, G)
    covs <- lapply(seq_len(G), function(k) matrix(sig[k], 1, 1))
  } else {
    covs <- lapply(seq_len(G), function(k) par$variance$sigma[, , k])
  }
  list(weights = as.numeric(par$pro), means = t(mu), covariances = covs)
}

data_sets <- list(
  iris = as.matrix(iris[, 1:4]),
  faithful = as.matrix(faithful),
  eruptions = faithful$eruptions
)

cases <- list()
zs <- list()
for (ds in names(data_sets)) {
  X <- data_sets[[ds]]
  one_d <- is.null(dim(X))
  n <- if (one_d) length(X) else nrow(X)
  d <- if (one_d) 1 else ncol(X)
  models <- if (one_d) c("E", "V") else prior_models_multi
  hc_pairs <- if (one_d) NULL else hc(X, modelName = "VVV", use = "VARS")
  for (G in c(2, 3)) {
    z_soft <- soft_z(n, G)
    z_start <- if (one_d) unmap(mclust:::qclass(X, G)) else unmap(hclass(hc_pairs, G))
    zs[[paste0(ds, G)]] <- list(z_soft = z_soft, z_start = z_start)
    for (m in models) {
      pp <- defaultPrior(X, G = G, modelName = m)
      ms <- mstep(X, m, z_soft, prior = priorControl())
      me1 <- me(X, m, z_soft, prior = priorControl(), control = emControl(itmax = 1))
      e <- me(X, m, z_start, prior = priorControl())
      check <- estep(X, m, parameters = e$parameters)
      cases[[length(cases) + 1]] <- list(
        data = ds, model = m, G = G,
        default_prior = list(shrinkage = pp$shrinkage, mean = as.numeric(pp$mean),
                             dof = pp$dof, scale = pp$scale),
        z = paste0(ds, G),
        mstep = params_out(ms$parameters, d, G),
        me1 = params_out(me1$parameters, d, G),
        me = c(params_out(e$parameters, d, G),
               list(loglik = e$loglik, iterations = attr(e, "info")[["iterations"]],
                    estep_loglik = check$loglik,
                    df = nMclustParams(m, d, G),
                    bic = bic(m, e$loglik, n, d, G)))
      )
    }
  }
}

# Models mclust refuses to fit with a prior (the M-step returns NA).
refused <- sapply(no_prior_models, function(m) {
  X <- data_sets$iris
  e <- suppressWarnings(me(X, m, unmap(iris$Species), prior = priorControl()))
  is.na(e$loglik) && grepl("not available with prior", attr(e, "WARNING"))
})

# Explicit hyperparameters.  mclust's defaultPrior ignores a `dof` given to
# priorControl (it always uses d + 2), so explicit priors go through a prior
# function of our own that returns the hyperparameters unchanged.
fixedPrior <- function(data, G, modelName, shrinkage, mean, dof, scale) {
  list(shrinkage = shrinkage, mean = mean, dof = dof, scale = scale)
}
explicit <- list()
X <- data_sets$iris
G <- 3
z_soft <- soft_z(nrow(X), G)
hyper <- list(
  list(shrinkage = 0.5, mean = c(5, 3, 4, 1), dof = 9,
       scale = diag(c(0.3, 0.2, 0.5, 0.1)) + 0.05),
  list(shrinkage = 0, mean = colMeans(X), dof = 17, scale = 0.2 * diag(4))
)
for (h in hyper) {
  for (m in prior_models_multi) {
    sc <- h$scale
    if (m %in% c("EII", "VII", "EEI", "VEI", "EVI", "VVI")) sc <- mean(diag(sc))
    pc <- priorControl(functionName = "fixedPrior", shrinkage = h$shrinkage,
                       mean = h$mean, dof = h$dof, scale = sc)
    ms <- mstep(X, m, z_soft, prior = pc)
    me1 <- me(X, m, z_soft, prior = pc, control = emControl(itmax = 1))
    explicit[[length(explicit) + 1]] <- list(
      data = "iris", model = m, G = G, shrinkage = h$shrinkage,
      mean = h$mean, dof = h$dof, scale = sc,
      mstep = params_out(ms$parameters, 4, G),
      me1 = params_out(me1$parameters, 4, G)
    )
  }
}

# One-dimensional models with explicit hyperparameters.
x1 <- data_sets$eruptions
z1 <- soft_z(length(x1), 2)
explicit_1d <- list()
for (h in list(list(shrinkage = 0.5, mean = 3, dof = 5, scale = 0.4),
               list(shrinkage = 0, mean = mean(x1), dof = 11, scale = 0.2))) {
  for (m in c("E", "V")) {
    pc <- priorControl(functionName = "fixedPrior", shrinkage = h$shrinkage,
                       mean = h$mean, dof = h$dof, scale = h$scale)
    ms <- mstep(x1, m, z1, prior = pc)
    me1 <- me(x1, m, z1, prior = pc, control = emControl(itmax = 1))
    explicit_1d[[length(explicit_1d) + 1]] <- list(
      data = "eruptions", model = m, G = 2, shrinkage = h$shrinkage,
      mean = h$mean, dof = h$dof, scale = h$scale,
      mstep = params_out(ms$parameters, 1, 2),
      me1 = params_out(me1$parameters, 1, 2)
    )
  }
}

# mclustBIC with the default prior: BIC as mclust reports it, and its start.
tables <- list()
for (ds in c("iris", "faithful")) {
  X <- data_sets[[ds]]
  b <- mclustBIC(X, G = 2:3, modelNames = c("VVV", "EEE", "VII"),
                 prior = priorControl())
  hcp <- attr(b, "initialization")$hcPairs
  for (G in 2:3) {
    for (m in c("VVV", "EEE", "VII")) {
      z0 <- unmap(hclass(hcp, G))
      e <- me(X, m, z0, prior = priorControl())
      tables[[length(tables) + 1]] <- list(
        data = ds, model = m, G = G, bic = b[as.character(G), m],
        z_start = z0, loglik = e$loglik, iterations = attr(e, "info")[["iterations"]],
        df = nMclustParams(m, ncol(X), G)
      )
    }
  }
}

# The whole mclustBIC table with the default prior (mclust leaves out the
# models it has no prior for; NA where EM lost a component).
grid <- suppressWarnings(mclustBIC(data_sets$iris, G = 1:4, prior = priorControl()))
bic_grid <- list(
  data = "iris", G = 1:4, models = colnames(grid),
  bic = unclass(grid)[, , drop = FALSE]
)
best_fit <- Mclust(data_sets$iris, G = 1:4, prior = priorControl(), verbose = FALSE)
bic_grid$best <- list(model = best_fit$modelName, G = best_fit$G,
                      bic = best_fit$bic, loglik = best_fit$loglik)

# defaultPrior with fewer rows than columns (its scale is then diagonal).
wide <- matrix(round(sin(1:24) * 10 + 1:24, 3), nrow = 4, ncol = 6)
wide_prior <- lapply(c("VVV", "EEE", "VVI", "EII"), function(m) {
  pp <- defaultPrior(wide, G = 2, modelName = m)
  list(model = m, G = 2, shrinkage = pp$shrinkage, mean = as.numeric(pp$mean),
       dof = pp$dof, scale = pp$scale)
})

out <- list(
  mclust_version = as.character(packageVersion("mclust")),
  R_version = R.version.string,
  z = zs,
  data = list(iris = data_sets$iris, faithful = data_sets$faithful,
              eruptions = data_sets$eruptions),
  prior_models = c("E", "V", prior_models_multi),
  refused = as.list(refused),
  cases = cases,
  explicit_z = z_soft,
  explicit = explicit,
  explicit_1d_z = z1,
  explicit_1d = explicit_1d,
  tables = tables,
  bic_grid = bic_grid,
  wide = wide,
  wide_prior = wide_prior
)
write_json(out, "tests/mclust/prior_reference.json", digits = NA,
           auto_unbox = TRUE, matrix = "rowmajor", pretty = FALSE)
cat("wrote", length(cases), "cases,", length(explicit), "explicit,",
    length(tables), "table rows\n")
