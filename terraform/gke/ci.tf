###############################################################################
# CI identity for .github/workflows (Workload Identity Federation, no keys)
###############################################################################

locals {
  ci_enabled = var.github_repository != ""
}

resource "google_service_account" "ci" {
  count        = local.ci_enabled ? 1 : 0
  account_id   = "${var.name}-ci"
  display_name = "Splitlyr GitHub Actions deployer"
  description  = "Pushes images to Artifact Registry and deploys to GKE from GitHub Actions."
}

resource "google_iam_workload_identity_pool" "github" {
  count                     = local.ci_enabled ? 1 : 0
  workload_identity_pool_id = "${var.name}-github"
  display_name              = "GitHub Actions"
}

resource "google_iam_workload_identity_pool_provider" "github" {
  #checkov:skip=CKV_GCP_125:The condition pins assertion.sub to repo:<owner/name>:ref:refs/heads/<deploy branch> (see attribute_condition); checkov cannot evaluate the for-expression.
  count                              = local.ci_enabled ? 1 : 0
  workload_identity_pool_id          = google_iam_workload_identity_pool.github[0].workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub OIDC"
  # Only workflows of this repository running on the deploy branches
  # (testing, main) may obtain the identity; pull requests cannot.
  attribute_condition = join(" || ", [
    for branch in var.ci_deploy_branches :
    "assertion.sub == \"repo:${var.github_repository}:ref:refs/heads/${branch}\""
  ])

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account_iam_member" "ci_wif" {
  count              = local.ci_enabled ? 1 : 0
  service_account_id = google_service_account.ci[0].name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github[0].name}/attribute.repository/${var.github_repository}"
}

resource "google_artifact_registry_repository_iam_member" "ci_writer" {
  count      = local.ci_enabled ? 1 : 0
  location   = google_artifact_registry_repository.splitlyr.location
  repository = google_artifact_registry_repository.splitlyr.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.ci[0].email}"
}

resource "google_project_iam_member" "ci_gke_developer" {
  count   = local.ci_enabled ? 1 : 0
  project = var.project_id
  role    = "roles/container.developer"
  member  = "serviceAccount:${google_service_account.ci[0].email}"
}
