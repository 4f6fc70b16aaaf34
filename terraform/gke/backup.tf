###############################################################################
# MongoDB backups (k8s/components/backup CronJob -> this bucket)
###############################################################################

resource "google_storage_bucket" "backups" {
  #checkov:skip=CKV_GCP_62:Access logging to a second bucket is not set up; Cloud Audit Logs (Data Access) cover object reads when enabled on the project.
  name                        = "${var.project_id}-${var.name}-backups"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # 30-day retention: live objects are deleted after backup_retention_days,
  # noncurrent (overwritten/deleted) versions one week later.
  lifecycle_rule {
    condition {
      age = var.backup_retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  labels = {
    app  = "splitlyr"
    data = "mongodb-backups"
  }
}

resource "google_service_account" "backup" {
  account_id   = "${var.name}-backup"
  display_name = "Splitlyr MongoDB backup job"
  description  = "Used by the splitlyr-backup CronJob through Workload Identity; may only create objects in the backup bucket."
}

resource "google_storage_bucket_iam_member" "backup_writer" {
  bucket = google_storage_bucket.backups.name
  role   = "roles/storage.objectCreator"
  member = "serviceAccount:${google_service_account.backup.email}"
}

# Kubernetes SA splitlyr/splitlyr-backup may act as the backup GSA.
resource "google_service_account_iam_member" "backup_workload_identity" {
  service_account_id = google_service_account.backup.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "serviceAccount:${var.project_id}.svc.id.goog[${var.app_namespace}/splitlyr-backup]"

  depends_on = [google_container_cluster.main]
}
