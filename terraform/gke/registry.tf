###############################################################################
# Artifact Registry (container images) with cleanup policies
###############################################################################

resource "google_artifact_registry_repository" "splitlyr" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption is accepted for container images (no customer data); set kms_key_name if CMEK is required.
  location               = var.region
  repository_id          = var.name
  description            = "Splitlyr container images"
  format                 = "DOCKER"
  cleanup_policy_dry_run = false

  docker_config {
    immutable_tags = true
  }

  # KEEP wins over DELETE: the 10 most recent versions always survive, every
  # other version is deleted once it is older than 30 days.
  cleanup_policies {
    id     = "keep-10-most-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }

  cleanup_policies {
    id     = "delete-older-than-30d"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "2592000s"
    }
  }
}

resource "google_artifact_registry_repository_iam_member" "nodes_reader" {
  location   = google_artifact_registry_repository.splitlyr.location
  repository = google_artifact_registry_repository.splitlyr.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.nodes.email}"
}
