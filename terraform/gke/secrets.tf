# Secret containers only; values are added with `gcloud secrets versions add`
# and copied into the cluster as the Secret splitlyr-secrets
# (docs/operations.md, "Secrets"). Nothing secret enters git or Terraform state.
resource "google_secret_manager_secret" "jwt" {
  #checkov:skip=CKV_GCP_128:Google-managed encryption is accepted for these application secrets; switch to CMEK if policy requires it.
  secret_id = var.jwt_secret_id

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "mongo_uri" {
  #checkov:skip=CKV_GCP_128:Google-managed encryption is accepted for these application secrets; switch to CMEK if policy requires it.
  secret_id = var.mongo_uri_secret_id

  replication {
    auto {}
  }
}
