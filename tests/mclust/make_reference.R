# Reference numbers from R's mclust for tests/test_covariance_models.py.
#
# Run from the repository root:  Rscript tests/mclust/make_reference.R
# (Debian: apt-get install r-base-core r-cran-mclust r-cran-jsonlite).
# Writes tests/mclust/reference.json.  The data sets and the starting
# responsibilities z are stored in the file, so the Python tests need no R.
#
# For every case (data set, number of components G, starting z) and every
# covariance model it records
#   mstep : one M-step from z (pro, mean, sigma, scale, shape, orientation)
#           and the log-likelihood of those parameters (estep);
#   me10  : exactly 10 EM iterations from z (outer tol 0, mclust's default
#           inner controls; the first iteration is the M-step from z);
#   me    : EM from z run to a tight convergence
#           (emControl(tol = c(1e-10, 1e-11))), with its iteration count;
# and df = nMclustParams for several G and d.
suppressPackageStartupMessages({
  library(mclust)
  library(jsonlite)
})

hard_z <- function(X, G) {
  tree <- hclust(dist(scale(X)), method = "ward.D2")
  unmap(cutree(tree, k = G))
}

soft_z <- function(X, G, seed) {
  set.seed(seed)
  z <- 0.6 * hard_z(X, G) + 0.4 * matrix(runif(nrow(X) * G), nrow(X), G)
  z / rowSums(z)
}

far_data <- function() {
  set.seed(2024)
  n <- c(60, 50, 40)
  centres <- rbind(c(0, 0, 0), c(4, 1, -2), c(-3, 5, 1))
  rot <- qr.Q(qr(matrix(rnorm(9), 3, 3)))
  parts <- lapply(1:3, function(k) {
    s <- c(2.0, 1.0, 0.5) * c(1, 1.5, 0.7)[k]
    Z <- matrix(rnorm(n[k] * 3), n[k], 3) %*% diag(s)
    if (k == 2) Z <- Z %*% t(rot)
    sweep(Z, 2, centres[k, ], "+")
  })
  X <- do.call(rbind, parts)
  sweep(X, 2, c(1e4, -2e4, 5e3), "+")
}

datasets <- list(
  faithful = unname(as.matrix(faithful)),
  iris = unname(as.matrix(iris[, 1:4])),
  far = far_data(),
  waiting = unname(as.matrix(faithful[, 2, drop = FALSE]))
)

cases <- list(
  list(data = "faithful", G = 2, z = "hard"),
  list(data = "faithful", G = 3, z = "hard"),
  list(data = "iris", G = 2, z = "hard"),
  list(data = "iris", G = 3, z = "soft"),
  list(data = "far", G = 3, z = "hard"),
  list(data = "waiting", G = 2, z = "hard"),
  list(data = "waiting", G = 3, z = "soft")
)

multi_models <- c("EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE",
                  "EVE", "VVE", "EEV", "VEV", "EVV", "VVV")

as_plain <- function(v) if (is.null(v)) NULL else unname(v)

pack <- function(fit) {
  p <- fit$parameters
  v <- p$variance
  list(
    pro = as_plain(p$pro),
    mean = as_plain(p$mean),              # d x G
    sigma = as_plain(if (is.null(v$sigma)) v$sigmasq else v$sigma),
    scale = as_plain(v$scale),
    shape = as_plain(v$shape),
    orientation = as_plain(v$orientation)
  )
}

run_case <- function(case) {
  X <- datasets[[case$data]]
  G <- case$G
  z <- if (case$z == "hard") hard_z(X, G) else soft_z(X, G, 7)
  z <- unname(z)
  models <- if (ncol(X) == 1) c("E", "V") else multi_models
  out <- list()
  for (m in models) {
    res <- tryCatch({
      ms <- mstep(modelName = m, data = X, z = z)
      es <- estep(modelName = m, data = X, parameters = ms$parameters)
      r <- list(mstep = c(pack(ms), list(loglik = es$loglik)))
      fixed <- suppressWarnings(me(modelName = m, data = X, z = z,
        control = emControl(tol = c(0, sqrt(.Machine$double.eps)),
                            itmax = c(10L, .Machine$integer.max))))
      r$me10 <- c(pack(fixed), list(loglik = fixed$loglik,
        iterations = abs(as.numeric(unlist(attr(fixed, "info")))[1])))
      conv <- me(modelName = m, data = X, z = z,
                 control = emControl(tol = c(1e-10, 1e-11)))
      r$me <- c(pack(conv), list(loglik = conv$loglik,
                                 iterations = as.numeric(unlist(attr(conv, "info")))[1]))
      r
    }, error = function(e) list(error = conditionMessage(e)))
    out[[m]] <- res
  }
  list(data = case$data, G = G, z_kind = case$z, z = z, models = out)
}

df_table <- list()
for (m in c("E", "V", multi_models)) {
  for (d in if (nchar(m) == 1) 1L else 1:5) {
    for (G in 1:5) {
      df_table[[length(df_table) + 1]] <- list(
        model = m, d = d, G = G, df = nMclustParams(m, d, G))
    }
  }
}

ref <- list(
  mclust_version = as.character(packageVersion("mclust")),
  r_version = R.version.string,
  datasets = lapply(datasets, function(X) unname(X)),
  cases = lapply(cases, run_case),
  df = df_table
)
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, null = "null",
                  matrix = "rowmajor"),
           "tests/mclust/reference.json")
