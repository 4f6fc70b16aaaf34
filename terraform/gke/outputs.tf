output "cluster_name" {
  description = "Name of the regional GKE cluster."
  value       = google_container_cluster.main.name
}

output "cluster_location" {
  description = "Region of the GKE cluster (for gcloud container clusters get-credentials --region)."
  value       = google_container_cluster.main.location
}

output "pods_cidr" {
  description = "Pod range of the cluster; set APP__RATE_LIMIT__TRUSTED_PROXIES in k8s/base/config.env (or an overlay) to it."
  value       = var.pods_cidr
}

output "get_credentials_command" {
  description = "Command that configures kubectl for the cluster."
  value       = "gcloud container clusters get-credentials ${google_container_cluster.main.name} --region ${google_container_cluster.main.location} --project ${var.project_id}"
}

output "artifact_registry_repository" {
  description = "Docker repository path for the Splitlyr image (append /splitlyr:TAG)."
  value       = "${google_artifact_registry_repository.splitlyr.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.splitlyr.repository_id}"
}

output "backup_bucket" {
  description = "GCS bucket receiving the mongodump archives (k8s backup CronJob BACKUP_BUCKET)."
  value       = google_storage_bucket.backups.name
}

output "backup_service_account_email" {
  description = "GSA for the backup CronJob's Kubernetes SA annotation iam.gke.io/gcp-service-account."
  value       = google_service_account.backup.email
}

output "node_service_account_email" {
  description = "Service account of the GKE nodes."
  value       = google_service_account.nodes.email
}

output "ci_service_account_email" {
  description = "Service account GitHub Actions impersonates (empty if github_repository is unset)."
  value       = local.ci_enabled ? google_service_account.ci[0].email : ""
}

output "ci_workload_identity_provider" {
  description = "Full provider name for google-github-actions/auth (empty if github_repository is unset)."
  value       = local.ci_enabled ? google_iam_workload_identity_pool_provider.github[0].name : ""
}

output "project_number" {
  description = "Project number (used in Workload Identity principal names)."
  value       = data.google_project.current.number
}
